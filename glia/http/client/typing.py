"""``PUT /rooms/{roomId}/typing/{userId}``."""

from __future__ import annotations

import msgspec

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.protocol.canonical_json import NonNegativeInt

routes = RouteGroup()


class TypingBody(msgspec.Struct):
    typing: bool
    #: Milliseconds (the server caps it; absent: its default).
    timeout: NonNegativeInt | None = None


@routes.put(*client_paths("/rooms/{roomId}/typing/{userId}"), auth=Auth.USER,
            body=TypingBody)
async def typing(req: Request[TypingBody]) -> Empty:
    await req.services.typing.set_typing(req.uow, req.path("roomId"),
                                         req.path("userId"), req.body.typing,
                                         req.body.timeout)
    return EMPTY
