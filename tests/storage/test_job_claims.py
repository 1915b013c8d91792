"""A job is run by the one claim that holds it: once another worker reclaims a job whose
heartbeat went stale, every write of the old claim is refused and its runner stops
without writing a result (on the engine under test)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from glia.clock import OffsetClock
from glia.config_sections import JobsConfig
from glia.services.jobs import JobContext, JobsService
from glia.storage import Storage
from glia.storage.jobs import ACTIVE, COMPLETE


async def test_a_reclaimed_job_refuses_the_old_claims_writes(storage: Storage) -> None:
    await storage.jobs.insert("j1", "kind", {}, "@admin:test", 1000, None)
    first = await storage.jobs.claim("first", 2000, stale_before=1500)
    assert first is not None and first.status == ACTIVE
    assert await storage.jobs.heartbeat("j1", "first", 3000, 1, 10)
    assert await storage.jobs.set_items("j1", "first", [("@a:test", "join")])
    # Not stale yet: nobody else can take it.
    assert await storage.jobs.claim("second", 3500, stale_before=2500) is None
    second = await storage.jobs.claim("second", 9000, stale_before=8000)
    assert second is not None and second.job_id == "j1"

    assert not await storage.jobs.heartbeat("j1", "first", 9100, 2, 10)
    assert not await storage.jobs.save_result("j1", "first", {"by": "first"})
    assert not await storage.jobs.set_items("j1", "first", [("@b:test", "kicked")])
    assert not await storage.jobs.finish("j1", "first", COMPLETE, 9200, {"by": "first"}, None)

    assert await storage.jobs.set_items("j1", "second", [("@a:test", "kicked")])
    assert await storage.jobs.items("j1") == {"@a:test": "kicked"}
    assert await storage.jobs.finish("j1", "second", COMPLETE, 9300, {"by": "second"}, None)
    job = await storage.jobs.get("j1")
    assert job is not None and (job.status, job.result) == (COMPLETE, {"by": "second"})
    assert await storage.jobs.items("j1") == {}  # a finished job keeps only its result


class Worker:
    """A JobsService whose runner reports what it got to do."""

    def __init__(self, storage: Storage, name: str, heartbeat_timeout: float,
                 clock: OffsetClock) -> None:
        self.name = name
        self.service = JobsService(storage, JobsConfig(heartbeat_timeout=heartbeat_timeout,
                                                       concurrency=1), clock)
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.stopped_by: str | None = None
        self.task: asyncio.Task[None] | None = None

    async def run(self, context: JobContext) -> dict[str, Any]:
        self.started.set()
        try:
            await self.release.wait()
            await context.progress(1, 1)
        except BaseException as e:
            self.stopped_by = type(e).__name__
            raise
        return {"by": self.name}

    def start(self) -> None:
        self.task = asyncio.create_task(self.service.run_worker({"work": self.run}))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


@pytest.fixture
async def workers(storage: Storage) -> AsyncIterator[tuple[Worker, Worker]]:
    # The second worker's clock runs a minute ahead, so the first one's heartbeats look
    # stale to it at once; the first never sees the second's as stale.
    ahead = OffsetClock()
    ahead.advance(60)
    pair = (Worker(storage, "first", 30, OffsetClock()), Worker(storage, "second", 30, ahead))
    try:
        yield pair
    finally:
        for worker in pair:
            await worker.stop()


async def test_a_runner_that_lost_its_claim_stops_at_its_next_write(
        storage: Storage, workers: tuple[Worker, Worker]) -> None:
    first, second = workers
    job_id = await first.service.schedule("work", {}, "@admin:test")
    first.start()
    await asyncio.wait_for(first.started.wait(), 5)
    second.release.set()
    second.start()
    done = await asyncio.wait_for(second.service.wait(job_id), 5)
    assert (done.status, done.result) == (COMPLETE, {"by": "second"})

    first.release.set()  # the first runner wakes up and reports progress: refused
    await asyncio.wait_for(_until(lambda: first.stopped_by is not None), 5)
    assert first.stopped_by == "ClaimLost"
    job = await storage.jobs.get(job_id)
    assert job is not None and job.result == {"by": "second"}


async def test_the_heartbeat_stops_a_runner_inside_a_long_step(
        storage: Storage, workers: tuple[Worker, Worker]) -> None:
    _, second = workers
    fast = Worker(storage, "fast", 0.3, OffsetClock())  # heartbeats every 0.1 s
    try:
        job_id = await fast.service.schedule("work", {}, "@admin:test")
        fast.start()
        await asyncio.wait_for(fast.started.wait(), 5)
        second.start()  # takes the job over while the fast runner is inside its step
        await asyncio.wait_for(second.started.wait(), 5)
        await asyncio.wait_for(_until(lambda: fast.stopped_by is not None), 5)
        assert fast.stopped_by == "CancelledError"
        second.release.set()
        done = await asyncio.wait_for(second.service.wait(job_id), 5)
        assert (done.status, done.result) == (COMPLETE, {"by": "second"})
    finally:
        await fast.stop()


async def _until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0.01)
