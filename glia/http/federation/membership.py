"""Joining and leaving rooms through this server: ``make_join`` / ``send_join`` (v2)
and ``make_leave`` / ``send_leave`` (v2)."""

from __future__ import annotations

from typing import Any

import msgspec

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, federation_paths
from glia.services.federation.resident import MembershipTemplate, SendJoinResult

routes = RouteGroup()


@routes.get(*federation_paths("/make_join/{roomId}/{userId}"), auth=Auth.SERVER)
async def make_join(req: Request) -> MembershipTemplate:
    versions = req.query_list("ver") or ["1"]
    assert req.origin is not None
    return await req.services.federation_resident.make(
        req.origin, req.path("roomId"), req.path("userId"), "join", versions)


@routes.put(*federation_paths("/send_join/{roomId}/{eventId}", ("v2",)), auth=Auth.SERVER,
            body=dict[str, Any])
async def send_join(req: Request[dict[str, Any]]) -> SendJoinResult:
    assert req.origin is not None
    return await req.services.federation_resident.send_join(
        req.origin, req.path("roomId"), req.path("eventId"), req.body)


@routes.get(*federation_paths("/make_leave/{roomId}/{userId}"), auth=Auth.SERVER)
async def make_leave(req: Request) -> MembershipTemplate:
    assert req.origin is not None
    return await req.services.federation_resident.make(
        req.origin, req.path("roomId"), req.path("userId"), "leave", None)


@routes.put(*federation_paths("/send_leave/{roomId}/{eventId}", ("v2",)), auth=Auth.SERVER,
            body=dict[str, Any])
async def send_leave(req: Request[dict[str, Any]]) -> dict[str, Any]:
    assert req.origin is not None
    await req.services.federation_resident.send(
        req.origin, req.path("roomId"), req.path("eventId"), req.body, "leave")
    return {}


class InviteBody(msgspec.Struct):
    """``invite`` v2: the event to sign, the room's version and its stripped state."""

    room_version: str
    event: dict[str, Any]
    invite_room_state: list[Any] = []


@routes.put(*federation_paths("/invite/{roomId}/{eventId}", ("v2",)), auth=Auth.SERVER,
            body=InviteBody)
async def invite(req: Request[InviteBody]) -> dict[str, Any]:
    assert req.origin is not None
    return await req.services.federation_invites.receive(
        req.origin, req.path("roomId"), req.path("eventId"), req.body.room_version,
        req.body.event, req.body.invite_room_state)
