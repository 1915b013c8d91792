"""Reading the timeline: ``/messages``, ``/context/{eventId}``, ``/event/{eventId}``."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.clock import now_ms
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.events import client_event

routes = RouteGroup()


@routes.get(*client_paths("/rooms/{roomId}/messages"), auth=Auth.USER)
async def messages(req: Request) -> dict[str, Any]:
    direction = req.query("dir") or "b"
    if direction not in ("b", "f"):
        raise errors.invalid_param("Query parameter 'dir' must be one of ['b', 'f']")
    who = req.requester
    return await req.services.timeline.messages(
        who.user_id, who.device_id, req.path("roomId"), from_token=req.query("from"),
        to_token=req.query("to"), backwards=direction == "b",
        limit=req.query_int("limit", 10) or 0, filter_json=req.query("filter"),
    )


@routes.get(*client_paths("/rooms/{roomId}/context/{eventId}"), auth=Auth.USER)
async def context(req: Request) -> dict[str, Any]:
    who = req.requester
    return await req.services.timeline.context(
        who.user_id, who.device_id, req.path("roomId"), req.path("eventId"),
        req.query_int("limit", 10) or 0, req.query("filter"),
    )


@routes.get(*client_paths("/rooms/{roomId}/event/{eventId}"), auth=Auth.USER)
async def get_event(req: Request) -> dict[str, Any]:
    who = req.requester
    event = await req.services.timeline.visible_event(
        who.user_id, req.path("roomId"), req.path("eventId"))
    return client_event(event, (who.user_id, who.device_id), now_ms())
