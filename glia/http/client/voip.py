"""``GET /voip/turnServer``."""

from __future__ import annotations

import msgspec

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


class TurnServerResponse(msgspec.Struct):
    username: str
    password: str
    uris: list[str]
    ttl: int


@routes.get(*client_paths("/voip/turnServer"), auth=Auth.USER, ratelimit="default")
async def turn_server(req: Request) -> TurnServerResponse | Empty:
    found = req.services.voip.turn_server(req.requester.user_id)
    if found is None:
        return EMPTY  # no TURN server configured: Synapse answers {}
    return TurnServerResponse(found.username, found.password, found.uris, found.ttl)
