"""Synapse's ``/v1/account_validity/validity``: an admin sets when an account expires."""

from __future__ import annotations

import msgspec

from glia.errors import MatrixError
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths
from glia.protocol.canonical_json import NonNegativeInt

routes = RouteGroup()


class ValidityBody(msgspec.Struct):
    #: Required; Synapse's own message (``M_UNKNOWN``) when it is missing is kept.
    user_id: str | None = None
    #: When the account expires (ms); default: one validity period from now.
    expiration_ts: NonNegativeInt | None = None
    #: False: send no renewal notice before this expiry.
    enable_renewal_emails: bool = True

    def __post_init__(self) -> None:
        if self.user_id is None:
            raise MatrixError(400, "M_UNKNOWN", "Missing property 'user_id' in the request body")


class Expiration(msgspec.Struct):
    expiration_ts: int


@routes.post(*admin_paths("/v1/account_validity/validity"), auth=Auth.ADMIN,
             audit="users.account_validity", body=ValidityBody)
async def set_validity(req: Request[ValidityBody]) -> Expiration:
    body = req.body
    assert body.user_id is not None
    req.uow.set_target(body.user_id)
    return Expiration(await req.services.account_validity.set_validity(
        req.uow, body.user_id, body.expiration_ts, body.enable_renewal_emails))
