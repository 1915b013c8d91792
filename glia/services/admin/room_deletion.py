"""The room deletion jobs: Synapse's shutdown-and-purge (v1 and v2 room deletes) and
Dendrite's ``purgeRoom``.

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

from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.services.events import EventRequest, EventsService
from glia.services.jobs import JobContext, JobRunner
from glia.services.membership import MembershipService
from glia.services.rooms import CreateRoom, RoomService
from glia.storage import Storage, Stores

__all__ = ["EVICTED", "PURGE_BATCH", "PURGE_ROOM", "SHUTDOWN_AND_PURGE", "RoomDeletion",
           "ShutdownRoom"]

logger = logging.getLogger(__name__)

SHUTDOWN_AND_PURGE = "shutdown_and_purge_room"
PURGE_ROOM = "purge_room"
PURGE_BATCH = 1000
#: Members evicted between two saves of a delete job's progress.
PROGRESS_EVERY = 20
#: Local memberships a room deletion ends (invites and knocks are rejected).
EVICTED = ("join", "invite", "knock")
#: Outcomes a deletion job records per item (besides a member's membership, its intent).
KICKED, KICK_FAILED, ALIAS = "kicked", "failed", "alias"
#: The device name in the transaction ID that makes a job's notice idempotent.
JOB_DEVICE = "glia.job"


class ShutdownRoom(msgspec.Struct):
    """What a room deletion did (Synapse's ``shutdown_room``): the v1 answer, and part of
    the v2 status; also the job's saved result, read back when a job resumes."""

    kicked_users: list[str] = []
    failed_to_kick_users: list[str] = []
    local_aliases: list[str] = []
    new_room_id: str | None = None

    @classmethod
    def of_result(cls, result: dict[str, Any] | None) -> ShutdownRoom | None:
        """The shutdown part of a deletion job's result, if it got that far."""
        saved = (result or {}).get("shutdown_room")
        return None if saved is None else msgspec.convert(saved, cls)

    def saved(self) -> dict[str, Any]:
        """The job-result form (``{"shutdown_room": …}``)."""
        return {"shutdown_room": msgspec.to_builtins(self)}


class RoomDeletion:
    """Runs the deletion jobs; also the local-member listing and the purge that the room
    admin service's Dendrite operations share with them."""

    def __init__(self, config: Config, storage: Storage, events: EventsService,
                 rooms: RoomService, membership: MembershipService) -> None:
        self._server_name = config.server_name
        self._storage = storage
        self._events = events
        self._rooms = rooms
        self._membership = membership

    def job_runners(self) -> dict[str, JobRunner]:
        return {SHUTDOWN_AND_PURGE: self._shutdown_and_purge, PURGE_ROOM: self._purge_job}

    async def _shutdown_and_purge(self, job: JobContext) -> dict[str, Any]:
        p = job.params
        room_id = str(p["room_id"])
        shutdown = ShutdownRoom.of_result(job.job.result) or ShutdownRoom()
        if p["block"]:
            await self._storage.admin_rooms.block(room_id, job.job.started_by, now_ms())
        if await self._storage.rooms.get(room_id) is None:
            return shutdown.saved()
        new_room_user_id = p.get("new_room_user_id")
        if new_room_user_id and not shutdown.new_room_id:
            shutdown.new_room_id = await self._replacement_room(
                job, shutdown, str(new_room_user_id), str(p["room_name"]))
        if shutdown.new_room_id:
            # A transaction ID makes the notice idempotent: a resumed job sends it once.
            await self._events.send(shutdown.new_room_id, EventRequest(
                str(new_room_user_id), "m.room.message",
                {"msgtype": "m.text", "body": str(p["message"])},
                txn=(JOB_DEVICE, f"{job.job.job_id}.notice")))
        await self._evict(job, room_id, shutdown.new_room_id)
        if shutdown.new_room_id:
            # Recorded before the move, so a crash after it still reports them.
            await job.record([(a, ALIAS) for a in
                              await self._storage.directory.aliases_of(room_id)])
            await self._storage.directory.move_aliases(room_id, shutdown.new_room_id)
        outcomes = await job.items()

        def having(outcome: str) -> list[str]:
            return sorted(i for i, o in outcomes.items() if o == outcome)

        shutdown.kicked_users = having(KICKED)
        shutdown.failed_to_kick_users = having(KICK_FAILED)
        shutdown.local_aliases = having(ALIAS)
        await self._storage.rooms.set_published(room_id, False)
        await job.save_result(shutdown.saved())
        if p["purge"]:
            if not p["force_purge"]:
                joined = await self.local_members(room_id, ("join",))
                if joined:
                    raise MatrixError(400, "M_UNKNOWN", "Users are still joined to this room")
            await self.purge(job, room_id)
        return shutdown.saved()

    async def _replacement_room(self, job: JobContext, shutdown: ShutdownRoom,
                                creator: str, name: str) -> str:
        """Create the replacement room, saving its ID in the job's result in the same
        transaction, so a job resumed after a crash reuses it instead of making another."""
        async def remember(tx: Stores, new_room_id: str) -> None:
            await job.save_result(
                msgspec.structs.replace(shutdown, new_room_id=new_room_id).saved(), tx)

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
        # Who is to go, recorded at once (a restarted job knows them); then each
        # member's outcome commits with their forgetting the room, and progress is
        # saved every PROGRESS_EVERY members: a few commits per member, not five.
        await job.record([(u, m) for u, m in sorted(todo.items()) if u not in recorded])
        for user_id, membership in sorted(todo.items()):
            left = False
            try:
                current = await self._storage.state.membership_of(room_id, user_id)
                if current is not None and current.membership in EVICTED:
                    await self._membership.leave(user_id, room_id, None)
                left = True
                if membership == "join" and new_room_id:
                    there = await self._storage.state.membership_of(new_room_id, user_id)
                    if there is None or there.membership != "join":
                        await self._membership.join(user_id, new_room_id, None)
                outcome = KICKED
            except MatrixError as e:
                logger.warning("room delete: %s could not leave %s: %s", user_id, room_id,
                               e.error)
                outcome = KICK_FAILED
            async with self._storage.transaction() as tx:
                if left:
                    await tx.rooms.forget(user_id, room_id)
                await job.record([(user_id, outcome)], tx)
            done += 1
            if done % PROGRESS_EVERY == 0 or done == total:
                await job.progress(done, total)

    async def local_members(self, room_id: str, memberships: tuple[str, ...]
                            ) -> list[tuple[str, str]]:
        """(user ID, membership) of the room's local members in ``memberships``, sorted."""
        suffix = f":{self._server_name}"
        rows = await self._storage.state.members_at(room_id, None, list(memberships))
        return sorted((m.user_id, m.membership) for m in rows if m.user_id.endswith(suffix))

    async def purge(self, job: JobContext, room_id: str) -> int:
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

    async def _purge_job(self, job: JobContext) -> dict[str, Any]:
        room_id = str(job.params["room_id"])
        if await self._storage.rooms.get(room_id) is None:
            return {"events": 0}
        return {"events": await self.purge(job, room_id)}
