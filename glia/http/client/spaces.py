"""Spaces: ``GET /_matrix/client/v1/rooms/{roomId}/hierarchy``."""

from __future__ import annotations

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.spaces import Hierarchy

routes = RouteGroup()


@routes.get(*client_paths("/rooms/{roomId}/hierarchy", ("v1",)), auth=Auth.USER,
            ratelimit="default")
async def hierarchy(req: Request) -> Hierarchy:
    return await req.services.spaces.hierarchy(
        req.requester.user_id, req.path("roomId"),
        suggested_only=bool(req.query_bool("suggested_only", False)),
        max_depth=req.query_int("max_depth"), limit=req.query_int("limit"),
        from_token=req.query("from"))
