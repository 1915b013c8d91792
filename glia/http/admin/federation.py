"""Synapse's ``/v1/federation/destinations`` admin API (list, one, its rooms, and
``reset_connection``), and Glia's view of one destination's queue."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import msgspec

from glia import errors
from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths, dendrite_paths, glia_paths
from glia.services.admin.federation import (
    DESTINATION_ORDER,
    DestinationQuery,
    DestinationQueue,
)

routes = RouteGroup()

BASE = "/v1/federation/destinations"


class EmptyBody(msgspec.Struct):
    """``reset_connection`` takes ``{}`` (or nothing)."""


def _with_next(body: dict[str, Any], following: int | None) -> dict[str, Any]:
    if following is not None:
        body["next_token"] = str(following)
    return body


@routes.get(*admin_paths(BASE), auth=Auth.ADMIN)
async def list_destinations(req: Request) -> dict[str, Any]:
    order_by = req.query("order_by") or "destination"
    if order_by not in DESTINATION_ORDER:
        raise errors.invalid_param("Query parameter 'order_by' must be one of ["
                                   + ", ".join(repr(k) for k in DESTINATION_ORDER) + "]")
    page = page_params(req)
    found, total = await req.services.federation_admin.destinations(DestinationQuery(
        search=req.query("destination") or None, order_by=order_by,
        backwards=page.backwards, offset=page.offset, limit=page.limit))
    return _with_next({"destinations": [asdict(d) for d in found], "total": total},
                      page.next_token(len(found), total))


@routes.get(*admin_paths(BASE + "/{destination}"), auth=Auth.ADMIN)
async def get_destination(req: Request) -> dict[str, Any]:
    return asdict(await req.services.federation_admin.destination(req.path("destination")))


@routes.get(*admin_paths(BASE + "/{destination}/rooms"), auth=Auth.ADMIN)
async def destination_rooms(req: Request) -> dict[str, Any]:
    page = page_params(req)
    rooms, total = await req.services.federation_admin.rooms(
        req.path("destination"), backwards=page.backwards, offset=page.offset,
        limit=page.limit)
    return _with_next({"rooms": [asdict(r) for r in rooms], "total": total},
                      page.next_token(len(rooms), total))


@routes.post(*admin_paths(BASE + "/{destination}/reset_connection"), auth=Auth.ADMIN,
             audit="federation.reset_connection", body=EmptyBody, empty_body=True)
async def reset_connection(req: Request[EmptyBody]) -> dict[str, Any]:
    await req.services.federation_admin.reset_connection(req.uow, req.path("destination"))
    return {}


@routes.get(*glia_paths("/v1/federation/queue/{serverName}"), auth=Auth.ADMIN)
async def destination_queue(req: Request) -> DestinationQueue:
    return await req.services.federation_admin.queue(req.path("serverName"))


async def _download_state(req: Request) -> dict[str, Any]:
    """Dendrite's state repair: the room's current state made to agree with the given
    server's, each event checked; Dendrite answers ``{}``."""
    await req.services.federation_state_download.download(
        req.uow, req.path("serverName"), req.path("roomId"))
    return {}


# GET as Dendrite serves it (although it writes), POST as a write should be.
routes.route("GET", *dendrite_paths("/downloadState/{serverName}/{roomId}"),
             auth=Auth.ADMIN, audit="rooms.download_state")(_download_state)
routes.post(*dendrite_paths("/downloadState/{serverName}/{roomId}"), auth=Auth.ADMIN,
            audit="rooms.download_state", body=EmptyBody, empty_body=True)(_download_state)
