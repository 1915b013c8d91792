"""``GET /voip/turnServer``."""

from __future__ import annotations

import msgspec

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


class TurnServerResponse(msgspec.Struct, omit_defaults=True):
    """The credentials, or — no TURN server configured — ``{}`` as Synapse answers."""

    username: str | None = None
    password: str | None = None
    uris: list[str] | None = None
    ttl: int | None = None


@routes.get(*client_paths("/voip/turnServer"), auth=Auth.USER, ratelimit="default")
async def turn_server(req: Request) -> TurnServerResponse:
    found = req.services.voip.turn_server(req.requester.user_id)
    if found is None:
        return TurnServerResponse()
    return TurnServerResponse(found.username, found.password, found.uris, found.ttl)
