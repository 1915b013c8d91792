"""``POST /search``: full-text search over the rooms the user can read."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


@routes.post(*client_paths("/search"), auth=Auth.USER)
async def search(req: Request) -> dict[str, Any]:
    who = req.requester
    return await req.services.search.search(who.user_id, who.device_id, req.json(),
                                            req.query("next_batch"))
