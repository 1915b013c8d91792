"""The read-only room endpoints of the Server-Server API: ``event``, ``state``,
``state_ids``, ``event_auth``, ``backfill``, ``get_missing_events``,
``timestamp_to_event`` and ``hierarchy``."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, federation_paths
from glia.services.federation.serving import (
    AuthChain,
    ClosestEvent,
    MissingEvents,
    MissingEventsQuery,
    RoomState,
    RoomStateIds,
    Transaction,
)
from glia.services.spaces import ServerHierarchy

routes = RouteGroup()


def _origin(req: Request[Any]) -> str:
    assert req.origin is not None  # set by the server auth level
    return req.origin


@routes.get(*federation_paths("/event/{eventId}"), auth=Auth.SERVER)
async def event(req: Request) -> Transaction:
    return await req.services.federation_serving.event(_origin(req), req.path("eventId"))


@routes.get(*federation_paths("/state/{roomId}"), auth=Auth.SERVER)
async def state(req: Request) -> RoomState:
    return await req.services.federation_serving.state(
        _origin(req), req.path("roomId"), req.query("event_id"))


@routes.get(*federation_paths("/state_ids/{roomId}"), auth=Auth.SERVER)
async def state_ids(req: Request) -> RoomStateIds:
    return await req.services.federation_serving.state_ids(
        _origin(req), req.path("roomId"), req.query("event_id"))


@routes.get(*federation_paths("/event_auth/{roomId}/{eventId}"), auth=Auth.SERVER)
async def event_auth(req: Request) -> AuthChain:
    return await req.services.federation_serving.event_auth(
        _origin(req), req.path("roomId"), req.path("eventId"))


@routes.get(*federation_paths("/backfill/{roomId}"), auth=Auth.SERVER)
async def backfill(req: Request) -> Transaction:
    limit = req.query_int("limit", required=True)
    assert limit is not None
    return await req.services.federation_serving.backfill(
        _origin(req), req.path("roomId"), req.raw.query_params.getlist("v"), limit)


@routes.post(*federation_paths("/get_missing_events/{roomId}"), auth=Auth.SERVER,
             body=MissingEventsQuery)
async def get_missing_events(req: Request[MissingEventsQuery]) -> MissingEvents:
    return await req.services.federation_serving.missing_events(
        _origin(req), req.path("roomId"), req.body)


@routes.get(*federation_paths("/timestamp_to_event/{roomId}"), auth=Auth.SERVER)
async def timestamp_to_event(req: Request) -> ClosestEvent:
    ts = req.query_int("ts", required=True, clamp=False)
    assert ts is not None
    direction = req.query("dir")
    if direction is None:
        raise errors.missing_param("Missing string query parameter 'dir'")
    if direction not in ("f", "b"):
        raise errors.invalid_param("dir must be f or b")
    return await req.services.federation_serving.closest_event(
        _origin(req), req.path("roomId"), ts, "f" if direction == "f" else "b")


@routes.get(*federation_paths("/hierarchy/{roomId}"), auth=Auth.SERVER)
async def hierarchy(req: Request) -> ServerHierarchy:
    return await req.services.federation_serving.hierarchy(
        _origin(req), req.path("roomId"), bool(req.query_bool("suggested_only", False)))
