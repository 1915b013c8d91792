"""Room administration: Synapse's room list, details, members, state, blocks and room
deletion (v1 synchronous, v2 as a job with status), and Dendrite's evacuateRoom,
evacuateUser, purgeRoom and emptyRooms. The deletion jobs themselves run in
``room_deletion``; this module schedules them and reports on them.

Every answer is a typed result whose encoding is the wire shape Synapse's and Dendrite's
admin tools parse (keys always present unless marked ``UNSET``, which leaves them out).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import InvalidId, is_valid_room_id, parse_user_id
from glia.services.admin.room_deletion import (
    EVICTED,
    PURGE_BATCH,
    PURGE_ROOM,
    SHUTDOWN_AND_PURGE,
    RoomDeletion,
    ShutdownRoom,
)
from glia.services.event_format import legacy_client_event
from glia.services.events import EventsService, client_event
from glia.services.jobs import Job, JobRunner, JobsService
from glia.services.membership import MembershipService
from glia.services.rooms import RoomService
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage
from glia.storage.admin_rooms import ROOM_ORDER, RoomListQuery
from glia.storage.engine import Row
from glia.storage.jobs import ACTIVE, CANCELLED, SCHEDULED

__all__ = ["PURGE_BATCH", "PURGE_ROOM", "ROOM_ORDER", "SHUTDOWN_AND_PURGE", "BlockRequest",
           "BlockStatus", "DeleteRoomRequest", "DeleteScheduled", "DeleteStatuses",
           "DeleteTask", "EmptyRooms", "Evacuation", "PurgePreview", "PurgeScheduled",
           "RoomAdminService", "RoomDetails", "RoomList", "RoomListItem", "RoomListQuery",
           "RoomMembers", "RoomState", "ShutdownRoom"]

logger = logging.getLogger(__name__)

DEFAULT_ROOM_NAME = "Content Violation Notification"
DEFAULT_MESSAGE = ("Sharing illegal content on this server is not permitted and rooms in"
                   " violation will be blocked.")


class BlockRequest(msgspec.Struct):
    """``PUT /v1/rooms/{roomId}/block``."""

    block: bool


class DeleteRoomRequest(msgspec.Struct):
    """Synapse's room deletion (v1 and v2): the replacement room, block, purge."""

    new_room_user_id: str | None = None
    room_name: str | None = DEFAULT_ROOM_NAME
    message: str | None = DEFAULT_MESSAGE
    block: bool = False
    purge: bool = True
    force_purge: bool = False


class RoomListItem(msgspec.Struct, kw_only=True):
    """One room of ``GET /v1/rooms``: all 15 keys, always (Element Admin checks)."""

    room_id: str
    name: str | None
    canonical_alias: str | None
    joined_members: int
    joined_local_members: int
    version: str
    creator: str | None
    encryption: str | None
    federatable: bool
    public: bool
    join_rules: str | None
    guest_access: str | None
    history_visibility: str | None
    state_events: int
    room_type: str | None


def _list_fields(row: Row) -> dict[str, Any]:
    return {
        "room_id": row["room_id"], "name": row["name"],
        "canonical_alias": row["canonical_alias"],
        "joined_members": int(row["joined_members"]),
        "joined_local_members": int(row["joined_local_members"]),
        "version": row["room_version"], "creator": row["creator"],
        "encryption": row["encryption"], "federatable": bool(row["federatable"]),
        "public": bool(row["published"]), "join_rules": row["join_rules"],
        "guest_access": row["guest_access"], "history_visibility": row["history_visibility"],
        "state_events": int(row["state_events"]), "room_type": row["room_type"],
    }


class RoomList(msgspec.Struct):
    """``GET /v1/rooms``: ``next_batch``/``prev_batch`` only when there is such a page."""

    rooms: list[RoomListItem]
    offset: int
    total_rooms: int
    next_batch: int | UnsetType = UNSET
    prev_batch: int | UnsetType = UNSET


class RoomDetails(RoomListItem, kw_only=True):
    """``GET /v1/rooms/{roomId}``: the list item and what only the details show."""

    topic: str | None
    avatar: str | None
    joined_local_devices: int
    forgotten: bool
    tombstoned: bool
    replacement_room: str | None


class RoomMembers(msgspec.Struct):
    members: list[str]
    total: int


class RoomState(msgspec.Struct):
    #: Client-format state events (free-form event JSON).
    state: list[dict[str, Any]]


class BlockStatus(msgspec.Struct):
    """``user_id`` (who blocked it) only for a blocked room, as in Synapse."""

    block: bool
    user_id: str | UnsetType = UNSET


class DeleteScheduled(msgspec.Struct):
    delete_id: str


class DeleteTask(msgspec.Struct):
    """A deletion job as Synapse's delete-status task object (``error`` only when it
    failed; ``shutdown_room`` null until the shutdown is done)."""

    delete_id: str
    room_id: str | None
    status: str
    shutdown_room: ShutdownRoom | None
    error: str | UnsetType = UNSET

    @classmethod
    def of(cls, job: Job) -> DeleteTask:
        # Synapse has no "cancelled": its pollers wait for complete or failed.
        cancelled = job.status == CANCELLED
        failed = job.error is not None or cancelled
        return cls(job.job_id, job.target, "failed" if cancelled else job.status,
                   ShutdownRoom.of_result(job.result),
                   (job.error or "cancelled") if failed else UNSET)


class DeleteStatuses(msgspec.Struct):
    results: list[DeleteTask]


class Evacuation(msgspec.Struct):
    """Dendrite's evacuate answer; ``dry_run`` only on a dry run (Glia extra)."""

    affected: list[str]
    dry_run: bool | UnsetType = UNSET


class PurgePreview(msgspec.Struct):
    """What Dendrite's ``purgeRoom`` would remove (Glia's dry run)."""

    room_id: str
    events: int
    local_members: list[str]
    aliases: list[str]
    dry_run: bool = True


class PurgeScheduled(msgspec.Struct):
    job_id: str


class EmptyRooms(msgspec.Struct):
    empty_rooms: list[str]


class RoomAdminService:
    def __init__(self, config: Config, storage: Storage, events: EventsService,
                 rooms: RoomService, membership: MembershipService, jobs: JobsService
                 ) -> None:
        self._config = config
        self._storage = storage
        self._events = events
        self._rooms = rooms
        self._membership = membership
        self._jobs = jobs
        self._deletion = RoomDeletion(config, storage, events, rooms, membership)

    def job_runners(self) -> dict[str, JobRunner]:
        """The deletion jobs' runners (room deletion and Dendrite's purge)."""
        return self._deletion.job_runners()

    @property
    def _server_name(self) -> str:
        return self._config.server_name

    # -- reading -------------------------------------------------------------------------

    async def page(self, query: RoomListQuery, offset: int, limit: int) -> RoomList:
        """A page of the room list (Synapse's order and search rules)."""
        if query.order_by not in ROOM_ORDER:
            raise errors.invalid_param(
                f"Query parameter 'order_by' must be one of {sorted(ROOM_ORDER)}")
        if query.search_term == "":
            raise errors.invalid_param("search_term cannot be an empty string")
        rows, total = await self._storage.admin_rooms.page(query, offset, limit)
        return RoomList(
            [RoomListItem(**_list_fields(r)) for r in rows], offset, total,
            next_batch=offset + limit if offset + limit < total else UNSET,
            prev_batch=max(0, offset - limit) if offset > 0 else UNSET)

    def _room_id(self, room_id: str) -> str:
        if not is_valid_room_id(room_id):
            raise MatrixError(400, "M_UNKNOWN", f"{room_id} is not a legal room ID")
        return room_id

    async def known(self, room_id: str) -> Row:
        """The room's list row; ``400`` for a malformed ID, ``404`` for an unknown room."""
        return await self._existing(self._room_id(room_id))

    async def _existing(self, room_id: str) -> Row:
        """The room's list row; ``404`` for anything not a room here, malformed or not
        (Synapse's details, members and state look the ID up without parsing it)."""
        row = await self._storage.admin_rooms.get(room_id)
        if row is None:
            raise errors.not_found("Room not found")
        return row

    async def details(self, room_id: str) -> RoomDetails:
        row = await self._existing(room_id)
        stats = self._storage.admin_rooms
        return RoomDetails(
            **_list_fields(row), topic=row["topic"], avatar=row["avatar"],
            joined_local_devices=await stats.local_devices_of_joined(
                room_id, self._server_name),
            forgotten=await stats.forgotten_by_all_local(room_id, self._server_name),
            tombstoned=row["tombstone_successor"] is not None,
            replacement_room=row["tombstone_successor"],
        )

    async def members(self, room_id: str) -> RoomMembers:
        await self._existing(room_id)
        joined = await self._storage.state.members_at(room_id, None, ["join"])
        members = sorted(m.user_id for m in joined)
        return RoomMembers(members, len(members))

    async def state(self, room_id: str, event_type: str | None) -> RoomState:
        await self._existing(room_id)
        ids = await self._storage.state.ids_at(
            room_id, None, types=[event_type] if event_type is not None else None)
        events = await self._storage.events.get_many(list(ids.values()))
        now = now_ms()
        ordered = sorted(events.values(), key=lambda e: e.stream_ordering)
        return RoomState([legacy_client_event(client_event(e, None, now)) for e in ordered])

    # -- blocks --------------------------------------------------------------------------

    async def block_status(self, room_id: str) -> BlockStatus:
        blocked_by = await self._storage.admin_rooms.blocked_by(self._room_id(room_id))
        if blocked_by is None:
            return BlockStatus(False)
        return BlockStatus(True, blocked_by)

    async def set_block(self, uow: UnitOfWork, room_id: str, body: BlockRequest
                        ) -> BlockStatus:
        self._room_id(room_id)
        async with uow.transaction() as tx:
            if body.block:
                await tx.admin_rooms.block(room_id, uow.actor, now_ms())
            else:
                await tx.admin_rooms.unblock(room_id)
        return BlockStatus(body.block)

    # -- deletion (Synapse v1 and v2) ----------------------------------------------------

    def _delete_params(self, room_id: str, body: DeleteRoomRequest) -> dict[str, Any]:
        self._room_id(room_id)
        new_room_user_id = body.new_room_user_id
        if new_room_user_id is not None:
            try:
                local = parse_user_id(new_room_user_id).domain == self._server_name
            except InvalidId:
                local = False
            if not local:
                raise MatrixError(400, "M_UNKNOWN", f"User must be our own: {new_room_user_id}")
        return {
            "room_id": room_id, "new_room_user_id": new_room_user_id,
            "room_name": body.room_name, "message": body.message, "block": body.block,
            "purge": body.purge, "force_purge": body.force_purge,
        }

    async def _schedule_delete(self, uow: UnitOfWork, room_id: str,
                               body: DeleteRoomRequest) -> str:
        """The deletion job; its row commits with the audit row (the job's own steps
        commit later, one by one)."""
        params = self._delete_params(room_id, body)
        async with uow.transaction() as tx:
            running, _ = await tx.jobs.page(kind=SHUTDOWN_AND_PURGE, status=None,
                                            target=room_id, offset=0, limit=100)
            if any(j.status in (SCHEDULED, ACTIVE) for j in running):
                raise MatrixError(400, "M_UNKNOWN", f"Purge already in progress for {room_id}")
            return await self._jobs.schedule(SHUTDOWN_AND_PURGE, params, uow.actor,
                                             tx=tx, target=room_id)

    async def delete_v2(self, uow: UnitOfWork, room_id: str, body: DeleteRoomRequest
                        ) -> DeleteScheduled:
        return DeleteScheduled(await self._schedule_delete(uow, room_id, body))

    async def delete_v1(self, uow: UnitOfWork, room_id: str, body: DeleteRoomRequest
                        ) -> ShutdownRoom:
        """The synchronous delete: the same job, waited for."""
        job = await self._jobs.wait(await self._schedule_delete(uow, room_id, body))
        if job.status != "complete":
            raise MatrixError(400, "M_UNKNOWN", job.error or f"Room deletion {job.status}")
        return ShutdownRoom.of_result(job.result) or ShutdownRoom()

    async def delete_status_by_room(self, room_id: str) -> DeleteStatuses:
        self._room_id(room_id)
        jobs = await self._jobs.latest_for(SHUTDOWN_AND_PURGE, room_id)
        tasks = [DeleteTask.of(j) for j in jobs if j.status != SCHEDULED]
        if not tasks:
            raise errors.not_found(f"No delete task for room_id '{room_id}' found")
        return DeleteStatuses(tasks)

    async def delete_status(self, delete_id: str) -> DeleteTask:
        job = await self._storage.jobs.get(delete_id)
        if job is None or job.kind != SHUTDOWN_AND_PURGE:
            raise errors.not_found(f"delete id '{delete_id}' not found")
        return DeleteTask.of(job)

    async def local_members(self, room_id: str, memberships: tuple[str, ...]
                            ) -> list[tuple[str, str]]:
        """(user ID, membership) of the room's local members in ``memberships``, sorted."""
        return await self._deletion.local_members(room_id, memberships)


    # -- Dendrite ------------------------------------------------------------------------

    async def evacuate_room(self, uow: UnitOfWork, room_id: str, dry_run: bool
                            ) -> Evacuation:
        """Every local joined member leaves (Dendrite's ``evacuateRoom``). Each leave is
        an event committed on its own; the audit row commits with the first."""
        await self.known(room_id)
        joined = [u for u, _ in await self.local_members(room_id, ("join",))]
        if dry_run:
            return Evacuation(joined, dry_run=True)
        affected = []
        with uow.event_writes():
            for user_id in joined:
                try:
                    await self._membership.leave(user_id, room_id, None)
                except MatrixError as e:
                    logger.warning("evacuate: %s could not leave %s: %s", user_id, room_id,
                                   e.error)
                    continue
                affected.append(user_id)
        return Evacuation(affected)

    async def evacuate_user(self, uow: UnitOfWork, user_id: str, dry_run: bool
                            ) -> Evacuation:
        """A local user leaves every joined room and rejects every invite (events
        committed one by one; the audit row commits with the first)."""
        try:
            parsed = parse_user_id(user_id)
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        if parsed.domain != self._server_name:
            raise errors.invalid_param("can only evacuate local users using this endpoint")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found(f"Unknown user {user_id}")
        if dry_run:
            rooms = await self._storage.state.rooms_of_user(user_id, ["join", "invite"])
            return Evacuation(sorted(m.room_id for m in rooms), dry_run=True)
        with uow.event_writes():
            return Evacuation(await self._membership.leave_all(user_id, ("join", "invite")))

    async def purge_room(self, uow: UnitOfWork, room_id: str, dry_run: bool
                         ) -> PurgePreview | PurgeScheduled:
        """Dendrite's ``purgeRoom``: remove the room from the database as a job, without
        evicting anyone (evacuate first)."""
        await self.known(room_id)
        if dry_run:
            return PurgePreview(
                room_id, await self._storage.admin_rooms.count_events(room_id),
                [u for u, _ in await self.local_members(room_id, EVICTED)],
                await self._storage.directory.aliases_of(room_id))
        async with uow.transaction() as tx:
            job_id = await self._jobs.schedule(PURGE_ROOM, {"room_id": room_id},
                                               uow.actor, tx=tx, target=room_id)
        return PurgeScheduled(job_id)

    async def empty_rooms(self) -> EmptyRooms:
        """Rooms no local user is joined to (Dendrite answers ``null`` for none; Glia ``[]``)."""
        return EmptyRooms(await self._storage.admin_rooms.rooms_without_local_members())

