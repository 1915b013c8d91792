"""``POST /search``: full-text search over the rooms the user can read."""

from __future__ import annotations

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.search_request import SearchRequest
from glia.services.search_results import SearchResults

routes = RouteGroup()


@routes.post(*client_paths("/search"), auth=Auth.USER, body=SearchRequest)
async def search(req: Request[SearchRequest]) -> SearchResults:
    who = req.requester
    return await req.services.search.search(who.user_id, who.device_id, req.body,
                                            req.query("next_batch"))
