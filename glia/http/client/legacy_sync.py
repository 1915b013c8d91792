"""The deprecated sync endpoints older clients and bridges still call: ``/events``,
``/events/{eventId}``, ``/initialSync`` and ``/rooms/{roomId}/initialSync``."""

from __future__ import annotations

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.event_format import ClientEvent
from glia.services.legacy_sync import EventStreamPage, InitialSync, Reader, RoomInfo

routes = RouteGroup()


def _reader(req: Request) -> Reader:
    return Reader(req.requester.user_id, req.requester.device_id)


@routes.get(*client_paths("/events"), auth=Auth.USER)
async def event_stream(req: Request) -> EventStreamPage:
    return await req.services.legacy_sync.events(
        _reader(req), req.query("from"), req.query_int("timeout"), req.query("room_id"))


@routes.get(*client_paths("/events/{eventId}"), auth=Auth.USER)
async def get_event(req: Request) -> ClientEvent:
    return await req.services.legacy_sync.event(_reader(req), req.path("eventId"))


@routes.get(*client_paths("/initialSync"), auth=Auth.USER)
async def initial_sync(req: Request) -> InitialSync:
    return await req.services.legacy_sync.initial_sync(
        _reader(req), req.query_int("limit"), bool(req.query_bool("archived", False)))


@routes.get(*client_paths("/rooms/{roomId}/initialSync"), auth=Auth.USER)
async def room_initial_sync(req: Request) -> RoomInfo:
    return await req.services.legacy_sync.room_initial_sync(
        _reader(req), req.path("roomId"), req.query_int("limit"))
