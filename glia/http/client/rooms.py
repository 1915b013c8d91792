"""``/createRoom``, ``/joined_rooms`` and room upgrades."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


@routes.post(*client_paths("/createRoom"), auth=Auth.USER, ratelimit="message")
async def create_room(req: Request) -> dict[str, Any]:
    room_id = await req.services.rooms.create_room(req.requester.user_id, req.json())
    return {"room_id": room_id}


@routes.get(*client_paths("/joined_rooms"), auth=Auth.USER)
async def joined_rooms(req: Request) -> dict[str, Any]:
    return {"joined_rooms": await req.services.state.joined_rooms(req.requester.user_id)}


@routes.post(*client_paths("/rooms/{roomId}/upgrade"), auth=Auth.USER, ratelimit="message")
async def upgrade_room(req: Request) -> dict[str, Any]:
    new_room = await req.services.rooms.upgrade_room(req.requester.user_id,
                                                      req.path("roomId"), req.json())
    return {"replacement_room": new_room}
