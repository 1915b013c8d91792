"""``/createRoom``, ``/joined_rooms`` and room upgrades."""

from __future__ import annotations

import msgspec

from glia.http.client.responses import RoomIdResponse
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.rooms import CreateRoom

routes = RouteGroup()


class UpgradeBody(msgspec.Struct):
    new_version: str
    additional_creators: list[str] | None = None


class UpgradeResponse(msgspec.Struct, frozen=True):
    replacement_room: str


class JoinedRooms(msgspec.Struct, frozen=True):
    joined_rooms: list[str]


@routes.post(*client_paths("/createRoom"), auth=Auth.USER, ratelimit="message",
             body=CreateRoom)
async def create_room(req: Request[CreateRoom]) -> RoomIdResponse:
    return RoomIdResponse(await req.services.rooms.create_room(req.requester.user_id,
                                                               req.body))


@routes.get(*client_paths("/joined_rooms"), auth=Auth.USER)
async def joined_rooms(req: Request) -> JoinedRooms:
    return JoinedRooms(await req.services.state.joined_rooms(req.requester.user_id))


@routes.post(*client_paths("/rooms/{roomId}/upgrade"), auth=Auth.USER, ratelimit="message",
             body=UpgradeBody)
async def upgrade_room(req: Request[UpgradeBody]) -> UpgradeResponse:
    new_room = await req.services.rooms.upgrade_room(
        req.requester.user_id, req.path("roomId"), req.body.new_version,
        req.body.additional_creators)
    return UpgradeResponse(new_room)
