"""Event relationships: ``/relations/{eventId}[/{relType}[/{eventType}]]`` and ``/threads``."""

from __future__ import annotations

from glia.http.client.timeline import direction
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.relations import RelationsPage

routes = RouteGroup()

#: Synapse's defaults when the client gives no ``limit``.
DEFAULT_RELATIONS_LIMIT = 5
DEFAULT_THREADS_LIMIT = 5


@routes.get(*client_paths("/rooms/{roomId}/relations/{eventId}", ("v1",)),
            *client_paths("/rooms/{roomId}/relations/{eventId}/{relType}", ("v1",)),
            *client_paths("/rooms/{roomId}/relations/{eventId}/{relType}/{eventType}",
                          ("v1",)), auth=Auth.USER)
async def relations(req: Request) -> RelationsPage:
    who = req.requester
    return await req.services.relations.relations(
        (who.user_id, who.device_id), req.path("roomId"), req.path("eventId"),
        req.path_params.get("relType"), req.path_params.get("eventType"),
        from_token=req.query("from"), to_token=req.query("to"),
        backwards=direction(req, "b"),
        limit=req.query_int("limit", DEFAULT_RELATIONS_LIMIT) or DEFAULT_RELATIONS_LIMIT,
        recurse=req.query_bool("recurse"),
    )


@routes.get(*client_paths("/rooms/{roomId}/threads", ("v1",)), auth=Auth.USER)
async def threads(req: Request) -> RelationsPage:
    who = req.requester
    return await req.services.relations.threads(
        (who.user_id, who.device_id), req.path("roomId"),
        include=req.query("include") or "all", from_token=req.query("from"),
        limit=req.query_int("limit", DEFAULT_THREADS_LIMIT) or DEFAULT_THREADS_LIMIT,
    )
