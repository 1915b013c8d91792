"""Reading the timeline: ``/messages``, ``/context/{eventId}``, ``/event/{eventId}``,
``timestamp_to_event``."""

from __future__ import annotations

import msgspec

from glia import errors
from glia.http.decoding import decode_json, to_model
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.protocol.filters import EventFilter, EventFilterDefinition, compile_event_filter
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


class FilterParam(msgspec.Struct):
    """The ``filter`` query parameter as a one-field model, so errors name ``filter.…``."""

    filter: EventFilterDefinition


def event_filter(req: Request) -> EventFilter:
    """The ``filter`` query parameter of ``/messages`` and ``/context``: a RoomEventFilter
    as JSON, decoded like a body and validated by the filter language's models."""
    text = req.query("filter")
    if not text:
        return EventFilter()
    value = decode_json(text.encode(), req.max_json_depth)
    return compile_event_filter(to_model({"filter": value}, FilterParam).filter)


@routes.get(*client_paths("/rooms/{roomId}/messages"), auth=Auth.USER)
async def messages(req: Request) -> MessagesPage:
    who = req.requester
    return await req.services.timeline.messages(
        who.user_id, who.device_id, req.path("roomId"), from_token=req.query("from"),
        to_token=req.query("to"), backwards=direction(req, "b"),
        limit=req.query_int("limit", 10) or 0, event_filter=event_filter(req),
    )


@routes.get(*client_paths("/rooms/{roomId}/context/{eventId}"), auth=Auth.USER)
async def context(req: Request) -> ContextPage:
    who = req.requester
    return await req.services.timeline.context(
        who.user_id, who.device_id, req.path("roomId"), req.path("eventId"),
        req.query_int("limit", 10) or 0, event_filter(req),
    )


@routes.get(*client_paths("/rooms/{roomId}/event/{eventId}"), auth=Auth.USER)
async def get_event(req: Request) -> ClientEvent:
    who = req.requester
    return await req.services.timeline.event(who.user_id, who.device_id,
                                             req.path("roomId"), req.path("eventId"))


@routes.get(*client_paths("/rooms/{roomId}/timestamp_to_event", ("v1",)), auth=Auth.USER)
async def timestamp_to_event(req: Request) -> EventAtTime:
    ts = req.query_int("ts", required=True, clamp=False)
    assert ts is not None
    return await req.services.timeline.timestamp_to_event(
        req.requester.user_id, req.path("roomId"), ts, forwards=not direction(req, None))
