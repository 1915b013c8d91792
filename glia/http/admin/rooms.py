"""Room administration on Synapse's paths (``/v1/rooms`` list, details, members, state,
block, v1/v2 delete and delete status) and Dendrite's (``evacuateRoom``,
``evacuateUser``, ``purgeRoom``, ``emptyRooms``)."""

from __future__ import annotations

from typing import Any

from glia.http.admin.dry_run import DryRunBody, dry_run
from glia.http.admin.pagination import page_params
from glia.http.client.timeline import direction, event_filter
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths, dendrite_paths
from glia.services.admin.room_moderation import ForceJoin, MakeRoomAdmin, PurgeHistoryRequest
from glia.services.admin.rooms import (
    BlockRequest,
    BlockStatus,
    DeleteRoomRequest,
    DeleteScheduled,
    DeleteStatuses,
    DeleteTask,
    EmptyRooms,
    Evacuation,
    PurgePreview,
    PurgeScheduled,
    RoomDetails,
    RoomList,
    RoomListQuery,
    RoomMembers,
    RoomState,
    ShutdownRoom,
)
from glia.services.timeline import ContextPage, EventAtTime, MessagesPage

routes = RouteGroup()


@routes.get(*admin_paths("/v1/rooms"), auth=Auth.ADMIN)
async def list_rooms(req: Request) -> RoomList:
    page = page_params(req)
    query = RoomListQuery(search_term=req.query("search_term"),
                          public=req.query_bool("public_rooms"),
                          empty=req.query_bool("empty_rooms"),
                          order_by=req.query("order_by") or "name", backwards=page.backwards)
    return await req.services.room_admin.page(query, page.offset, page.limit)


@routes.get(*admin_paths("/v1/rooms/{roomId}"), auth=Auth.ADMIN)
async def room_details(req: Request) -> RoomDetails:
    return await req.services.room_admin.details(req.path("roomId"))


@routes.get(*admin_paths("/v1/rooms/{roomId}/members"), auth=Auth.ADMIN)
async def room_members(req: Request) -> RoomMembers:
    return await req.services.room_admin.members(req.path("roomId"))


@routes.get(*admin_paths("/v1/rooms/{roomId}/state"), auth=Auth.ADMIN)
async def room_state(req: Request) -> RoomState:
    return await req.services.room_admin.state(req.path("roomId"), req.query("type"))


@routes.get(*admin_paths("/v1/rooms/{roomId}/block"), auth=Auth.ADMIN)
async def get_block(req: Request) -> BlockStatus:
    return await req.services.room_admin.block_status(req.path("roomId"))


@routes.put(*admin_paths("/v1/rooms/{roomId}/block"), auth=Auth.ADMIN, audit="rooms.block",
            body=BlockRequest)
async def put_block(req: Request[BlockRequest]) -> BlockStatus:
    return await req.services.room_admin.set_block(req.uow, req.path("roomId"), req.body)


@routes.delete(*admin_paths("/v1/rooms/{roomId}"), auth=Auth.ADMIN, audit="rooms.delete",
               body=DeleteRoomRequest)
async def delete_room_v1(req: Request[DeleteRoomRequest]) -> ShutdownRoom:
    return await req.services.room_admin.delete_v1(req.uow, req.path("roomId"), req.body)


@routes.delete(*admin_paths("/v2/rooms/{roomId}"), auth=Auth.ADMIN, audit="rooms.delete",
               body=DeleteRoomRequest)
async def delete_room_v2(req: Request[DeleteRoomRequest]) -> DeleteScheduled:
    return await req.services.room_admin.delete_v2(req.uow, req.path("roomId"), req.body)


@routes.get(*admin_paths("/v2/rooms/{roomId}/delete_status"), auth=Auth.ADMIN)
async def delete_status_by_room(req: Request) -> DeleteStatuses:
    return await req.services.room_admin.delete_status_by_room(req.path("roomId"))


@routes.get(*admin_paths("/v2/rooms/delete_status/{deleteId}"), auth=Auth.ADMIN)
async def delete_status(req: Request) -> DeleteTask:
    return await req.services.room_admin.delete_status(req.path("deleteId"))


async def _evacuate_room(req: Request[DryRunBody]) -> Evacuation:
    return await req.services.room_admin.evacuate_room(req.uow, req.path("roomId"),
                                                       dry_run(req))


async def _evacuate_user(req: Request[DryRunBody]) -> Evacuation:
    return await req.services.room_admin.evacuate_user(req.uow, req.path("userId"),
                                                       dry_run(req))


# POST since Dendrite 0.13; GET as older Dendrite (and its first docs) had it.
routes.post(*dendrite_paths("/evacuateRoom/{roomId}"), auth=Auth.ADMIN,
            audit="rooms.evacuate", body=DryRunBody, empty_body=True)(_evacuate_room)
routes.route("GET", *dendrite_paths("/evacuateRoom/{roomId}"), auth=Auth.ADMIN,
             audit="rooms.evacuate")(_evacuate_room)
routes.post(*dendrite_paths("/evacuateUser/{userId}"), auth=Auth.ADMIN,
            audit="users.evacuate", body=DryRunBody, empty_body=True)(_evacuate_user)
routes.route("GET", *dendrite_paths("/evacuateUser/{userId}"), auth=Auth.ADMIN,
             audit="users.evacuate")(_evacuate_user)


@routes.post(*dendrite_paths("/purgeRoom/{roomId}"), auth=Auth.ADMIN, audit="rooms.purge",
             body=DryRunBody, empty_body=True)
async def purge_room(req: Request[DryRunBody]) -> PurgePreview | PurgeScheduled:
    return await req.services.room_admin.purge_room(req.uow, req.path("roomId"), dry_run(req))


@routes.get(*dendrite_paths("/emptyRooms"), auth=Auth.ADMIN)
async def empty_rooms(req: Request) -> EmptyRooms:
    return await req.services.room_admin.empty_rooms()


@routes.get(*admin_paths("/v1/rooms/{roomId}/messages"), auth=Auth.ADMIN)
async def room_messages(req: Request) -> MessagesPage:
    return await req.services.timeline.messages(
        req.requester.user_id, req.requester.device_id, req.path("roomId"),
        from_token=req.query("from"), to_token=req.query("to"),
        backwards=direction(req, "f"), limit=min(req.query_int("limit", 10) or 0, 1000),
        event_filter=event_filter(req), admin=True)


@routes.get(*admin_paths("/v1/rooms/{roomId}/context/{eventId}"), auth=Auth.ADMIN)
async def room_context(req: Request) -> ContextPage:
    return await req.services.timeline.context(
        req.requester.user_id, req.requester.device_id, req.path("roomId"),
        req.path("eventId"), req.query_int("limit", 10) or 0, event_filter(req), admin=True)


@routes.get(*admin_paths("/v1/rooms/{roomId}/timestamp_to_event"), auth=Auth.ADMIN)
async def room_timestamp_to_event(req: Request) -> EventAtTime:
    ts = req.query_int("ts", required=True, clamp=False)
    assert ts is not None
    return await req.services.timeline.timestamp_to_event(
        req.requester.user_id, req.path("roomId"), ts, forwards=not direction(req, "f"),
        admin=True)


@routes.post(*admin_paths("/v1/rooms/{roomId}/make_room_admin"), auth=Auth.ADMIN,
             audit="rooms.make_room_admin", body=MakeRoomAdmin, empty_body=True)
async def make_room_admin(req: Request[MakeRoomAdmin]) -> dict[str, Any]:
    return await req.services.room_moderation.make_room_admin(req.uow, req.path("roomId"),
                                                              req.body)


@routes.post(*admin_paths("/v1/join/{roomId}"), auth=Auth.ADMIN, audit="rooms.join",
             body=ForceJoin)
async def force_join(req: Request[ForceJoin]) -> dict[str, Any]:
    return await req.services.room_moderation.force_join(req.uow, req.path("roomId"), req.body)


@routes.get(*admin_paths("/v1/rooms/{roomId}/forward_extremities"), auth=Auth.ADMIN)
async def forward_extremities(req: Request) -> dict[str, Any]:
    return await req.services.room_moderation.forward_extremities(req.path("roomId"))


@routes.delete(*admin_paths("/v1/rooms/{roomId}/forward_extremities"), auth=Auth.ADMIN,
               audit="rooms.delete_forward_extremities")
async def delete_forward_extremities(req: Request) -> dict[str, Any]:
    return await req.services.room_moderation.delete_forward_extremities(req.uow,
                                                                         req.path("roomId"))


@routes.get(*admin_paths("/v1/fetch_event/{eventId}"), auth=Auth.ADMIN)
async def fetch_event(req: Request) -> dict[str, Any]:
    return await req.services.room_moderation.fetch_event(req.path("eventId"))


@routes.post(*admin_paths("/v1/purge_history/{roomId}"), auth=Auth.ADMIN,
             audit="rooms.purge_history", body=PurgeHistoryRequest, empty_body=True)
async def purge_history(req: Request[PurgeHistoryRequest]) -> dict[str, Any]:
    return await req.services.room_moderation.purge_history(req.uow, req.path("roomId"),
                                                            None, req.body)


@routes.post(*admin_paths("/v1/purge_history/{roomId}/{eventId}"), auth=Auth.ADMIN,
             audit="rooms.purge_history", body=PurgeHistoryRequest, empty_body=True)
async def purge_history_to_event(req: Request[PurgeHistoryRequest]) -> dict[str, Any]:
    return await req.services.room_moderation.purge_history(
        req.uow, req.path("roomId"), req.path("eventId"), req.body)


@routes.get(*admin_paths("/v1/purge_history_status/{purgeId}"), auth=Auth.ADMIN)
async def purge_history_status(req: Request) -> dict[str, Any]:
    return await req.services.room_moderation.purge_history_status(req.path("purgeId"))
