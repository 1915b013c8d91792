"""Central enforcement of each route's declared auth level.

The token may come from ``Authorization: Bearer`` or the ``access_token`` query
parameter, never both (Synapse's messages are kept for tools that match on them). An
application service's ``as_token`` is accepted wherever a user's token is; its
``user_id`` and ``device_id`` query parameters say whom it acts as (identity assertion).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request as StarletteRequest

from glia import errors
from glia.http.decoding import decode_json
from glia.http.routes import Auth
from glia.services.federation.auth import x_matrix_headers

if TYPE_CHECKING:
    from glia.services.auth import AuthService, Requester
    from glia.services.federation.auth import FederationAuthService


class NotAdmin(errors.MatrixError):
    """``403 M_FORBIDDEN`` for a valid user on an admin route; carries who it was, so a
    refused admin write can be audited with its actor."""

    def __init__(self, requester: Requester) -> None:
        super().__init__(403, "M_FORBIDDEN", "You are not a server admin")
        self.requester = requester


def extract_token(request: StarletteRequest) -> str | None:
    headers = request.headers.getlist("authorization")
    query_token = request.query_params.get("access_token")
    if headers and query_token is not None:
        raise errors.missing_token(
            "Mixing Authorization headers and access_token query parameters."
        )
    if len(headers) > 1:
        raise errors.missing_token("Too many Authorization headers.")
    if headers:
        scheme, _, token = headers[0].partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.missing_token("Invalid Authorization header.")
        return token.strip()
    return query_token or None


async def authorize(
    auth: Auth, request: StarletteRequest, auth_service: AuthService,
    allow_expired: bool = False,
    guests: bool = False,
) -> Requester | None:
    """Return the requester (or None where none is needed), raising for anything else;
    a guest's token only where ``guests`` says the route takes one."""
    if auth is Auth.SHARED_SECRET:
        auth_service.shared_secret()  # the HMAC itself is checked by the service
        return None
    if auth in (Auth.NONE, Auth.SERVER):  # SERVER: authorize_server, once the body is in
        return None
    token = extract_token(request)
    if token is None:
        if auth in (Auth.USER_OPTIONAL, Auth.APPSERVICE_OPTIONAL):
            return None
        raise errors.missing_token()
    if auth is Auth.APPSERVICE_OPTIONAL:
        return auth_service.app_service_requester(token)
    requester = await auth_service.authenticate(
        token, request.client.host if request.client else None,
        request.headers.get("user-agent"), allow_expired,
        as_user_id=request.query_params.get("user_id"),
        as_device_id=request.query_params.get("device_id"))
    if auth is Auth.ADMIN and not requester.is_admin:
        raise NotAdmin(requester)
    if auth is Auth.APPSERVICE and requester.app_service is None:
        raise errors.forbidden("Only application services can use this endpoint")
    if requester.is_guest and not guests:
        raise errors.MatrixError(403, "M_GUEST_ACCESS_FORBIDDEN",
                                 "Guest access not allowed to this endpoint")
    return requester


async def authorize_server(request: StarletteRequest, body: bytes, max_json_depth: int,
                           federation_auth: FederationAuthService) -> str:
    """The origin server of a signed federation request (``Auth.SERVER``). The signature
    covers the body, so this runs once the body is read; a body that is not JSON cannot
    have been signed as the spec says and is refused first (``M_NOT_JSON``)."""
    authorizations = request.headers.getlist("authorization")
    x_matrix_headers(authorizations)
    content = decode_json(body, max_json_depth) if body.strip() else None
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    uri = raw_path.decode("latin-1").split("?", 1)[0]
    query = request.scope.get("query_string", b"").decode("latin-1")
    if query:
        uri += f"?{query}"
    return await federation_auth.authenticate(authorizations, request.method, uri, content)
