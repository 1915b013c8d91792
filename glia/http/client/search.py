"""``POST /search``: full-text search over the rooms the user can read."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.search_request import SearchRequest

routes = RouteGroup()


@routes.post(*client_paths("/search"), auth=Auth.USER, body=SearchRequest)
async def search(req: Request[SearchRequest]) -> dict[str, Any]:
    who = req.requester
    return await req.services.search.search(who.user_id, who.device_id, req.body,
                                            req.query("next_batch"))
