"""Reading the timeline: ``/messages``, ``/context/{eventId}``, ``/event/{eventId}``,
``timestamp_to_event``."""

from __future__ import annotations

from glia import errors
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.event_format import ClientEvent
from glia.services.timeline import ContextPage, EventAtTime, MessagesPage

routes = RouteGroup()


def direction(req: Request, default: str | None) -> bool:
    """The ``dir`` query parameter: True for backwards (``b``)."""
    value = req.query("dir") or default
    if value is None:
        raise errors.missing_param("Missing string query parameter 'dir'")
    if value not in ("b", "f"):
        raise errors.invalid_param("Query parameter 'dir' must be one of ['b', 'f']")
    return value == "b"


@routes.get(*client_paths("/rooms/{roomId}/messages"), auth=Auth.USER)
async def messages(req: Request) -> MessagesPage:
    who = req.requester
    return await req.services.timeline.messages(
        who.user_id, who.device_id, req.path("roomId"), from_token=req.query("from"),
        to_token=req.query("to"), backwards=direction(req, "b"),
        limit=req.query_int("limit", 10) or 0, filter_json=req.query("filter"),
    )


@routes.get(*client_paths("/rooms/{roomId}/context/{eventId}"), auth=Auth.USER)
async def context(req: Request) -> ContextPage:
    who = req.requester
    return await req.services.timeline.context(
        who.user_id, who.device_id, req.path("roomId"), req.path("eventId"),
        req.query_int("limit", 10) or 0, req.query("filter"),
    )


@routes.get(*client_paths("/rooms/{roomId}/event/{eventId}"), auth=Auth.USER)
async def get_event(req: Request) -> ClientEvent:
    who = req.requester
    return await req.services.timeline.event(who.user_id, who.device_id,
                                             req.path("roomId"), req.path("eventId"))


@routes.get(*client_paths("/rooms/{roomId}/timestamp_to_event", ("v1",)), auth=Auth.USER)
async def timestamp_to_event(req: Request) -> EventAtTime:
    ts = req.query_int("ts", required=True)
    assert ts is not None
    return await req.services.timeline.timestamp_to_event(
        req.requester.user_id, req.path("roomId"), ts, forwards=not direction(req, None))
