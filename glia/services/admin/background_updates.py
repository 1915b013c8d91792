"""Synapse's background-updates admin API served from Glia's jobs.

Synapse's background updates are schema migrations and index rebuilds it runs in the
background; Glia migrates at start-up, so what remains are the two rebuilds admins start
by hand (``start_job``), run here as durable jobs of the same names:

- ``populate_stats_process_rooms``: recompute every room's statistics (what the admin
  room list reads) from its current state.
- ``regenerate_directory``: rebuild the user directory (who ``/user_directory/search``
  may find: users sharing a room or in public rooms) from rooms, memberships and
  profiles.

``enabled`` is one switch in the database (every process reads it): while it is off these
jobs wait before their next room or batch, as Synapse pauses its updates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from glia.clock import Clock
from glia.errors import MatrixError
from glia.services.admin.room_stats import RoomStats
from glia.services.jobs import JobContext, JobRunner, JobsService
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage
from glia.storage.jobs import ACTIVE, SCHEDULED

POPULATE_STATS = "populate_stats_process_rooms"
REGENERATE_DIRECTORY = "regenerate_directory"
#: The job names ``start_job`` accepts (Synapse's, less ``event_resign``: Glia signs with
#: one key it never rotates yet).
JOB_NAMES = (POPULATE_STATS, REGENERATE_DIRECTORY)
#: Synapse reports updates per database; Glia has one, named as Synapse names its main one.
DATABASE_NAME = "master"
ROOMS_PER_STEP = 100
#: How often a paused job looks at the switch again, in seconds.
PAUSE_POLL_SECONDS = 1.0


class BackgroundUpdatesService:
    def __init__(self, storage: Storage, jobs: JobsService, clock: Clock,
                 room_stats: RoomStats,
                 rebuild_directory: Callable[[JobContext], Awaitable[dict[str, Any]]]
                 ) -> None:
        self._storage = storage
        self._jobs = jobs
        self._clock = clock
        self._room_stats = room_stats
        self._rebuild_directory = rebuild_directory

    def job_runners(self) -> dict[str, JobRunner]:
        return {POPULATE_STATS: self._populate_stats, REGENERATE_DIRECTORY: self._regenerate}

    async def enabled(self) -> bool:
        return await self._storage.background_updates.enabled()

    async def set_enabled(self, uow: UnitOfWork, enabled: bool) -> bool:
        async with uow.transaction() as tx:
            await tx.background_updates.set_enabled(enabled)
        return enabled

    async def current_updates(self) -> dict[str, dict[str, Any]]:
        """The running update (Synapse runs one per database at a time) with its rate."""
        for kind in JOB_NAMES:
            running, _ = await self._jobs.page(kind=kind, status=ACTIVE, target=None,
                                               offset=0, limit=1)
            if running:
                job = running[0]
                duration = float(max(self._clock.now_ms() - (job.started_ts
                                                             or job.created_ts), 0))
                return {DATABASE_NAME: {
                    "name": kind, "total_item_count": job.done,
                    "total_duration_ms": duration,
                    # Synapse's: null before the first item, items per ms after.
                    "average_items_per_ms": None if not job.done
                    else job.done / duration if duration else 0.0}}
        return {}

    async def start_job(self, uow: UnitOfWork, job_name: str) -> None:
        """Queue the named rebuild; refused (as by Synapse) for an unknown name or one
        already queued or running."""
        if job_name not in JOB_NAMES:
            raise MatrixError(400, "M_UNKNOWN", "Invalid job_name")
        for status in (SCHEDULED, ACTIVE):
            queued, _ = await self._jobs.page(kind=job_name, status=status, target=None,
                                              offset=0, limit=1)
            if queued:
                raise MatrixError(400, "M_UNKNOWN",
                                  f"Job {job_name} is already in queue of background updates.")
        async with uow.transaction() as tx:
            await self._jobs.schedule(job_name, {}, uow.actor, tx=tx)

    async def _wait_while_disabled(self, context: JobContext) -> None:
        while not await self.enabled():
            await context.progress(context.done)  # heartbeat; stops if cancelled
            await self._clock.sleep(PAUSE_POLL_SECONDS)

    async def _populate_stats(self, context: JobContext) -> dict[str, Any]:
        """Every room, in ID order, resuming after the last room a previous run saved."""
        after = str((context.job.result or {}).get("after", ""))
        done = int((context.job.result or {}).get("rooms", 0))
        while True:
            await self._wait_while_disabled(context)
            room_ids = await self._storage.admin_rooms.room_ids_after(after, ROOMS_PER_STEP)
            if not room_ids:
                return {"rooms": done}
            for room_id in room_ids:
                await self._room_stats.rebuild(room_id)
            done += len(room_ids)
            after = room_ids[-1]
            await context.save_result({"after": after, "rooms": done})
            await context.progress(done)

    async def _regenerate(self, context: JobContext) -> dict[str, Any]:
        await self._wait_while_disabled(context)
        return await self._rebuild_directory(context)
