"""Central enforcement of each route's declared auth level.

The token may come from ``Authorization: Bearer`` or the ``access_token`` query
parameter, never both (Synapse's messages are kept for tools that match on them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request as StarletteRequest

from glia import errors
from glia.http.routes import Auth

if TYPE_CHECKING:
    from glia.services.auth import AuthService, Requester


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
    guests: bool = False,
) -> Requester | None:
    """Return the requester (or None where none is needed), raising for anything else;
    a guest's token only where ``guests`` says the route takes one."""
    if auth is Auth.SHARED_SECRET:
        auth_service.shared_secret()  # the HMAC itself is checked by the service
        return None
    if auth is Auth.NONE:
        return None
    token = extract_token(request)
    if token is None:
        if auth is Auth.USER_OPTIONAL:
            return None
        raise errors.missing_token()
    requester = await auth_service.authenticate(
        token, request.client.host if request.client else None,
        request.headers.get("user-agent"))
    if auth is Auth.ADMIN and not requester.is_admin:
        raise NotAdmin(requester)
    if requester.is_guest and not guests:
        raise errors.MatrixError(403, "M_GUEST_ACCESS_FORBIDDEN",
                                 "Guest access not allowed to this endpoint")
    return requester
