"""``/presence/{userId}/status``."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


@routes.get(*client_paths("/presence/{userId}/status"), auth=Auth.USER)
async def get_status(req: Request) -> dict[str, Any]:
    return await req.services.presence.get_status(req.requester.user_id,
                                                  req.path("userId"))


@routes.put(*client_paths("/presence/{userId}/status"), auth=Auth.USER)
async def set_status(req: Request) -> dict[str, Any]:
    await req.services.presence.set_status(req.requester.user_id, req.path("userId"),
                                           req.json())
    return {}
