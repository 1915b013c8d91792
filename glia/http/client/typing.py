"""``PUT /rooms/{roomId}/typing/{userId}``."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


@routes.put(*client_paths("/rooms/{roomId}/typing/{userId}"), auth=Auth.USER)
async def typing(req: Request) -> dict[str, Any]:
    await req.services.typing.set_typing(req.requester.user_id, req.path("roomId"),
                                         req.path("userId"), req.json())
    return {}
