"""Room administration: Synapse's room list, details, members, state, blocks and room
deletion (v1 synchronous, v2 as a job with status), and Dendrite's evacuateRoom,
evacuateUser, purgeRoom and emptyRooms.

Deletion is one job kind, ``shutdown_and_purge_room``: block → replacement room → every
local member leaves (and forgets; former joiners join the replacement) → aliases move →
purge in batches. The replacement room's ID is saved in the transaction that creates the
room and each member's eviction is recorded as one item, so a job reclaimed after a crash
resumes where it stopped instead of creating a second replacement room, at a cost per
step that does not grow with the room.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import InvalidId, is_valid_room_id, parse_user_id
from glia.services.events import EventRequest, EventsService, client_event
from glia.services.jobs import Job, JobContext, JobsService
from glia.services.membership import MembershipService
from glia.services.rooms import CreateRoom, RoomService
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage, Stores
from glia.storage.admin_rooms import ROOM_ORDER, RoomListQuery
from glia.storage.engine import Row
from glia.storage.jobs import ACTIVE, CANCELLED, SCHEDULED

__all__ = ["PURGE_BATCH", "PURGE_ROOM", "ROOM_ORDER", "SHUTDOWN_AND_PURGE", "BlockRequest",
           "DeleteRoomRequest", "RoomAdminService", "RoomListQuery"]

logger = logging.getLogger(__name__)

SHUTDOWN_AND_PURGE = "shutdown_and_purge_room"
PURGE_ROOM = "purge_room"
PURGE_BATCH = 1000
DEFAULT_ROOM_NAME = "Content Violation Notification"
DEFAULT_MESSAGE = ("Sharing illegal content on this server is not permitted and rooms in"
                   " violation will be blocked.")
#: Local memberships a room deletion ends (invites and knocks are rejected).
EVICTED = ("join", "invite", "knock")
#: Outcomes a deletion job records per item (besides a member's membership, its intent).
KICKED, KICK_FAILED, ALIAS = "kicked", "failed", "alias"
#: The device name in the transaction ID that makes a job's notice idempotent.
JOB_DEVICE = "glia.job"


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


def list_item(row: Row) -> dict[str, Any]:
    """One room of ``GET /v1/rooms``: all 15 keys, always (Element Admin checks)."""
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


def delete_task(job: Job) -> dict[str, Any]:
    """A deletion job as Synapse's delete-status task object."""
    status = job.status
    if status == CANCELLED:
        status = "failed"  # Synapse has no "cancelled"; pollers wait for complete/failed
    task: dict[str, Any] = {
        "delete_id": job.job_id, "room_id": job.target, "status": status,
        "shutdown_room": (job.result or {}).get("shutdown_room"),
    }
    if job.error is not None or job.status == CANCELLED:
        task["error"] = job.error or "cancelled"
    return task


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
        jobs.register(SHUTDOWN_AND_PURGE, self._shutdown_and_purge)
        jobs.register(PURGE_ROOM, self._purge_job)

    @property
    def _server_name(self) -> str:
        return self._config.server_name

    # -- reading -------------------------------------------------------------------------

    async def page(self, query: RoomListQuery, offset: int, limit: int
                   ) -> tuple[list[dict[str, Any]], int]:
        rows, total = await self._storage.admin_rooms.page(query, offset, limit)
        return [list_item(r) for r in rows], total

    def _room_id(self, room_id: str) -> str:
        if not is_valid_room_id(room_id):
            raise MatrixError(400, "M_UNKNOWN", f"{room_id} is not a legal room ID")
        return room_id

    async def known(self, room_id: str) -> Row:
        """The room's list row; ``400`` for a malformed ID, ``404`` for an unknown room."""
        row = await self._storage.admin_rooms.get(self._room_id(room_id))
        if row is None:
            raise errors.not_found("Room not found")
        return row

    async def details(self, room_id: str) -> dict[str, Any]:
        row = await self.known(room_id)
        stats = self._storage.admin_rooms
        return {
            **list_item(row), "topic": row["topic"], "avatar": row["avatar"],
            "joined_local_devices": await stats.local_devices_of_joined(
                room_id, self._server_name),
            "forgotten": await stats.forgotten_by_all_local(room_id, self._server_name),
            "tombstoned": row["tombstone_successor"] is not None,
            "replacement_room": row["tombstone_successor"],
        }

    async def members(self, room_id: str) -> dict[str, Any]:
        await self.known(room_id)
        joined = await self._storage.state.members_at(room_id, None, ["join"])
        members = sorted(m.user_id for m in joined)
        return {"members": members, "total": len(members)}

    async def state(self, room_id: str, event_type: str | None) -> dict[str, Any]:
        await self.known(room_id)
        ids = await self._storage.state.ids_at(
            room_id, None, types=[event_type] if event_type is not None else None)
        events = await self._storage.events.get_many(list(ids.values()))
        now = now_ms()
        ordered = sorted(events.values(), key=lambda e: e.stream_ordering)
        return {"state": [client_event(e, None, now) for e in ordered]}

    # -- blocks --------------------------------------------------------------------------

    async def block_status(self, room_id: str) -> dict[str, Any]:
        blocked_by = await self._storage.admin_rooms.blocked_by(self._room_id(room_id))
        if blocked_by is None:
            return {"block": False}
        return {"block": True, "user_id": blocked_by}

    async def set_block(self, uow: UnitOfWork, room_id: str, body: BlockRequest
                        ) -> dict[str, Any]:
        self._room_id(room_id)
        async with uow.transaction() as tx:
            if body.block:
                await tx.admin_rooms.block(room_id, uow.actor, now_ms())
            else:
                await tx.admin_rooms.unblock(room_id)
        return {"block": body.block}

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
                        ) -> dict[str, Any]:
        return {"delete_id": await self._schedule_delete(uow, room_id, body)}

    async def delete_v1(self, uow: UnitOfWork, room_id: str, body: DeleteRoomRequest
                        ) -> dict[str, Any]:
        """The synchronous delete: the same job, waited for."""
        job = await self._jobs.wait(await self._schedule_delete(uow, room_id, body))
        if job.status != "complete":
            raise MatrixError(400, "M_UNKNOWN", job.error or f"Room deletion {job.status}")
        return dict((job.result or {}).get("shutdown_room") or _empty_shutdown())

    async def delete_status_by_room(self, room_id: str) -> dict[str, Any]:
        self._room_id(room_id)
        jobs = await self._jobs.latest_for(SHUTDOWN_AND_PURGE, room_id)
        tasks = [delete_task(j) for j in jobs if j.status != SCHEDULED]
        if not tasks:
            raise errors.not_found(f"No delete task for room_id '{room_id}' found")
        return {"results": tasks}

    async def delete_status(self, delete_id: str) -> dict[str, Any]:
        job = await self._storage.jobs.get(delete_id)
        if job is None or job.kind != SHUTDOWN_AND_PURGE:
            raise errors.not_found(f"delete id '{delete_id}' not found")
        return delete_task(job)

    async def _shutdown_and_purge(self, job: JobContext) -> dict[str, Any]:
        p = job.params
        room_id = str(p["room_id"])
        shutdown: dict[str, Any] = dict((job.job.result or {}).get("shutdown_room")
                                        or _empty_shutdown())
        if p["block"]:
            await self._storage.admin_rooms.block(room_id, job.job.started_by, now_ms())
        if await self._storage.rooms.get(room_id) is None:
            return {"shutdown_room": shutdown}
        new_room_user_id = p.get("new_room_user_id")
        if new_room_user_id and not shutdown["new_room_id"]:
            shutdown["new_room_id"] = await self._replacement_room(
                job, shutdown, str(new_room_user_id), str(p["room_name"]))
        if shutdown["new_room_id"]:
            # A transaction ID makes the notice idempotent: a resumed job sends it once.
            await self._events.send(shutdown["new_room_id"], EventRequest(
                str(new_room_user_id), "m.room.message",
                {"msgtype": "m.text", "body": str(p["message"])},
                txn=(JOB_DEVICE, f"{job.job.job_id}.notice")))
        await self._evict(job, room_id, shutdown["new_room_id"])
        if shutdown["new_room_id"]:
            # Recorded before the move, so a crash after it still reports them.
            await job.record([(a, ALIAS) for a in
                              await self._storage.directory.aliases_of(room_id)])
            await self._storage.directory.move_aliases(room_id, shutdown["new_room_id"])
        outcomes = await job.items()
        for key, outcome in (("kicked_users", KICKED), ("failed_to_kick_users", KICK_FAILED),
                             ("local_aliases", ALIAS)):
            shutdown[key] = sorted(i for i, o in outcomes.items() if o == outcome)
        await self._storage.rooms.set_published(room_id, False)
        await job.save_result({"shutdown_room": shutdown})
        if p["purge"]:
            if not p["force_purge"]:
                joined = await self.local_members(room_id, ("join",))
                if joined:
                    raise MatrixError(400, "M_UNKNOWN", "Users are still joined to this room")
            await self._purge(job, room_id)
        return {"shutdown_room": shutdown}

    async def _replacement_room(self, job: JobContext, shutdown: dict[str, Any],
                                creator: str, name: str) -> str:
        """Create the replacement room, saving its ID in the job's result in the same
        transaction, so a job resumed after a crash reuses it instead of making another."""
        async def remember(tx: Stores, new_room_id: str) -> None:
            await job.save_result({"shutdown_room": {**shutdown, "new_room_id": new_room_id}},
                                  tx)

        return await self._rooms.create_room(creator, CreateRoom(
            preset="public_chat", name=name,
            power_level_content_override={"users_default": -10},
        ), in_tx=remember)

    async def _evict(self, job: JobContext, room_id: str, new_room_id: str | None) -> None:
        """Evict every local member, one recorded item each: the member's membership
        before the leave (the intent), then the outcome. A run resumed after a crash
        finishes the members whose intent is recorded (their leave may have committed
        just before it) and then those still in the room."""
        recorded = await job.items()
        todo = {user_id: outcome for user_id, outcome in recorded.items()
                if outcome in EVICTED}
        for user_id, membership in await self.local_members(room_id, EVICTED):
            if user_id not in recorded:
                todo[user_id] = membership
        done = sum(1 for o in recorded.values() if o in (KICKED, KICK_FAILED))
        total = done + len(todo)
        for user_id, membership in sorted(todo.items()):
            if user_id not in recorded:
                await job.record([(user_id, membership)])
            try:
                current = await self._storage.state.membership_of(room_id, user_id)
                if current is not None and current.membership in EVICTED:
                    await self._membership.leave(user_id, room_id, None)
                await self._storage.rooms.forget(user_id, room_id)
                if membership == "join" and new_room_id:
                    there = await self._storage.state.membership_of(new_room_id, user_id)
                    if there is None or there.membership != "join":
                        await self._membership.join(user_id, new_room_id, None)
                outcome = KICKED
            except MatrixError as e:
                logger.warning("room delete: %s could not leave %s: %s", user_id, room_id,
                               e.error)
                outcome = KICK_FAILED
            await job.record([(user_id, outcome)])
            done += 1
            await job.progress(done, total)

    async def local_members(self, room_id: str, memberships: tuple[str, ...]
                             ) -> list[tuple[str, str]]:
        suffix = f":{self._server_name}"
        rows = await self._storage.state.members_at(room_id, None, list(memberships))
        return sorted((m.user_id, m.membership) for m in rows if m.user_id.endswith(suffix))

    async def _purge(self, job: JobContext, room_id: str) -> int:
        """Delete the room's events in batches (progress per batch), then the rest."""
        stats = self._storage.admin_rooms
        total = await stats.count_events(room_id)
        done = 0
        await job.progress(done, total)
        while True:
            async with self._storage.transaction() as tx:
                deleted = await tx.admin_rooms.delete_event_batch(room_id, PURGE_BATCH)
            if not deleted:
                break
            done += deleted
            await job.progress(done, max(total, done))
        async with self._storage.transaction() as tx:
            await tx.search.delete_room(room_id)
            await tx.admin_rooms.delete_room_rows(room_id)
        logger.info("purged room %s: %d events", room_id, done)
        return done

    # -- Dendrite ------------------------------------------------------------------------

    async def evacuate_room(self, uow: UnitOfWork, room_id: str, dry_run: bool
                            ) -> dict[str, Any]:
        """Every local joined member leaves (Dendrite's ``evacuateRoom``). Each leave is
        an event committed on its own; the audit row commits with the first."""
        await self.known(room_id)
        joined = [u for u, _ in await self.local_members(room_id, ("join",))]
        if dry_run:
            return {"affected": joined, "dry_run": True}
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
        return {"affected": affected}

    async def evacuate_user(self, uow: UnitOfWork, user_id: str, dry_run: bool
                            ) -> dict[str, Any]:
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
            return {"affected": sorted(m.room_id for m in rooms), "dry_run": True}
        with uow.event_writes():
            return {"affected": await self._membership.leave_all(user_id, ("join", "invite"))}

    async def purge_room(self, uow: UnitOfWork, room_id: str, dry_run: bool
                         ) -> dict[str, Any]:
        """Dendrite's ``purgeRoom``: remove the room from the database as a job, without
        evicting anyone (evacuate first)."""
        await self.known(room_id)
        if dry_run:
            return {
                "dry_run": True, "room_id": room_id,
                "events": await self._storage.admin_rooms.count_events(room_id),
                "local_members": [u for u, _ in await self.local_members(room_id, EVICTED)],
                "aliases": await self._storage.directory.aliases_of(room_id),
            }
        async with uow.transaction() as tx:
            job_id = await self._jobs.schedule(PURGE_ROOM, {"room_id": room_id},
                                               uow.actor, tx=tx, target=room_id)
        return {"job_id": job_id}

    async def _purge_job(self, job: JobContext) -> dict[str, Any]:
        room_id = str(job.params["room_id"])
        if await self._storage.rooms.get(room_id) is None:
            return {"events": 0}
        return {"events": await self._purge(job, room_id)}

    async def empty_rooms(self) -> dict[str, Any]:
        """Rooms no local user is joined to (Dendrite answers ``null`` for none; Glia ``[]``)."""
        return {"empty_rooms": await self._storage.admin_rooms.rooms_without_local_members()}


def _empty_shutdown() -> dict[str, Any]:
    return {"kicked_users": [], "failed_to_kick_users": [], "local_aliases": [],
            "new_room_id": None}
