"""Long admin operations as durable jobs: scheduled, run by a worker, resumable, cancellable.

A job is a row first (``scheduled``), so scheduling can share the transaction of the
request that asked for it. Each process runs a worker that claims jobs and heartbeats
while running one; when a process dies, its job's heartbeat goes stale and any worker
claims it again and starts it over. Every write a runner makes through its
:class:`JobContext` checks that its claim still holds: a worker that was too slow to
heartbeat and lost its job to another stops (:class:`ClaimLost`) instead of running it a
second time beside the new owner. Runners are written as idempotent steps that save small
partial results (counters, a cursor, IDs they created) and record per-item outcomes with
:meth:`JobContext.record`, so each step costs the same however far the job has come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from glia import errors
from glia.clock import Clock, SystemClock
from glia.config_sections import JobsConfig
from glia.errors import MatrixError
from glia.storage import Storage, Stores
from glia.storage.jobs import ACTIVE, CANCELLED, COMPLETE, FAILED, FINISHED, SCHEDULED, Job

logger = logging.getLogger(__name__)

__all__ = ["JOB_STATUSES", "ClaimLost", "Job", "JobCancelled", "JobContext", "JobRunner",
           "JobsService"]

JOB_STATUSES = (SCHEDULED, ACTIVE, COMPLETE, FAILED, CANCELLED)
#: Longest a worker waits before looking for jobs again: jobs scheduled by another
#: process, and jobs whose worker died, start within this.
POLL_SECONDS = 1.0


class JobCancelled(Exception):
    """The job was cancelled while running; the runner stops at its next progress call."""


class ClaimLost(Exception):
    """Another worker reclaimed the job (this one missed its heartbeats): stop, write
    nothing more, and leave the job to its new owner."""


@dataclass
class JobContext:
    job: Job
    _service: JobsService
    #: This run's claim on the job; every write the runner makes is checked against it.
    claim: str
    done: int = 0
    total: int | None = None
    _last_log: float = field(default=0.0)

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    async def progress(self, done: int, total: int | None = None) -> None:
        """Persist progress (and heartbeat); raises :class:`JobCancelled` if cancelled,
        :class:`ClaimLost` if another worker took the job over."""
        self.done = done
        if total is not None:
            self.total = total
        await self._service.heartbeat(self)

    async def save_result(self, partial: dict[str, Any], tx: Stores | None = None) -> None:
        """Persist a small partial result (``job.result`` when a restarted job resumes);
        in ``tx`` when given, so it commits together with the change it describes."""
        await self._service.save_result(self, partial, tx)

    async def record(self, items: list[tuple[str, str]], tx: Stores | None = None) -> None:
        """Record each (item, outcome): one row per item, however many came before; in
        ``tx`` when given, so the outcome commits with the change."""
        await self._service.record(self, items, tx)

    async def items(self) -> dict[str, str]:
        """The items recorded so far by every run of this job, with their outcomes."""
        return await self._service.items(self.job.job_id)


JobRunner = Callable[[JobContext], Awaitable[dict[str, Any]]]


class JobsService:
    def __init__(self, storage: Storage, config: JobsConfig, clock: Clock | None = None
                 ) -> None:
        self._storage = storage
        self._config = config
        self._clock = clock or SystemClock()
        self._worker_id = f"w{uuid.uuid4().hex[:12]}"
        #: Set when the worker should look for jobs now (one scheduled, a slot freed).
        self._wake = asyncio.Event()
        #: Replaced and set whenever a job of this process finishes, for :meth:`wait`.
        self._finished = asyncio.Event()

    async def schedule(self, kind: str, params: Mapping[str, Any], started_by: str,
                       tx: Stores | None = None, target: str | None = None) -> str:
        """Create a job (in ``tx`` if given, so it commits with the request's change).
        A kind without a runner fails when a worker claims it."""
        job_id = uuid.uuid4().hex
        stores = tx if tx is not None else self._storage
        await stores.jobs.insert(job_id, kind, dict(params), started_by,
                                 self._clock.now_ms(), target)
        # Woken before the row commits, the worker would find nothing and sleep a poll.
        stores.after_commit(self._wake.set)
        return job_id

    async def schedule_once(self, kind: str, started_by: str, tx: Stores) -> str:
        """The job of ``kind`` already scheduled or running, else a new one in ``tx``
        (a rebuild of the whole server: two at once would only do the same work twice).
        Looked up in ``tx``, so two requests cannot both find none."""
        for status in (ACTIVE, SCHEDULED):
            running, _ = await tx.jobs.page(kind=kind, status=status, target=None,
                                            offset=0, limit=1)
            if running:
                return running[0].job_id
        return await self.schedule(kind, {}, started_by, tx=tx)

    async def get(self, job_id: str) -> Job:
        job = await self._storage.jobs.get(job_id)
        if job is None:
            raise errors.not_found("Job not found")
        return job

    async def page(self, *, kind: str | None, status: str | None, target: str | None,
                   offset: int, limit: int) -> tuple[list[Job], int]:
        return await self._storage.jobs.page(kind=kind, status=status, target=target,
                                             offset=offset, limit=limit)

    async def all(self, *, kind: str | None, status: str | None, target: str | None,
                  batch: int = 1000) -> list[Job]:
        """Every matching job, newest first, read in pages."""
        out: list[Job] = []
        while True:
            jobs, total = await self._storage.jobs.page(kind=kind, status=status,
                                                        target=target, offset=len(out),
                                                        limit=batch)
            out += jobs
            if not jobs or len(out) >= total:
                return out

    async def latest_for(self, kind: str, target: str) -> list[Job]:
        jobs, _ = await self._storage.jobs.page(kind=kind, status=None, target=target,
                                                offset=0, limit=100)
        return jobs

    async def cancel(self, job_id: str, tx: Stores) -> Job:
        job = await tx.jobs.get(job_id)
        if job is None:
            raise errors.not_found("Job not found")
        if not await tx.jobs.cancel(job_id, self._clock.now_ms()):
            raise MatrixError(400, "M_UNKNOWN", f"Job {job_id} is already {job.status}")
        cancelled = await tx.jobs.get(job_id)
        assert cancelled is not None
        tx.after_commit(self._job_finished)
        return cancelled

    async def wait(self, job_id: str) -> Job:
        """Wait for a job to finish (synchronous admin endpoints built on jobs): woken
        when a job of this process finishes, and looking again every
        :data:`POLL_SECONDS` in case another process runs it."""
        self._wake.set()
        while True:
            finished = self._finished
            job = await self.get(job_id)
            if job.status in FINISHED:
                return job
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), timeout=POLL_SECONDS)

    async def _stop_unless_ours(self, context: JobContext, still_ours: bool) -> None:
        if still_ours:
            return
        if await self._storage.jobs.status(context.job.job_id) == CANCELLED:
            raise JobCancelled()
        raise ClaimLost()

    async def save_result(self, context: JobContext, partial: dict[str, Any],
                          tx: Stores | None = None) -> None:
        stores = tx if tx is not None else self._storage
        await self._stop_unless_ours(context, await stores.jobs.save_result(
            context.job.job_id, context.claim, partial))

    async def record(self, context: JobContext, items: list[tuple[str, str]],
                     tx: Stores | None = None) -> None:
        stores = tx if tx is not None else self._storage
        await self._stop_unless_ours(context, await stores.jobs.set_items(
            context.job.job_id, context.claim, items))

    async def items(self, job_id: str) -> dict[str, str]:
        return await self._storage.jobs.items(job_id)

    async def heartbeat(self, context: JobContext) -> None:
        """Persist progress; raises :class:`JobCancelled` or :class:`ClaimLost` when the
        job is no longer this run's to continue."""
        await self._stop_unless_ours(context, await self._storage.jobs.heartbeat(
            context.job.job_id, context.claim, self._clock.now_ms(), context.done,
            context.total))
        now = self._clock.monotonic()
        if now - context._last_log >= 5:
            context._last_log = now
            logger.info("job %s (%s): %d/%s done", context.job.job_id, context.job.kind,
                        context.done, "?" if context.total is None else context.total)

    # -- the worker ------------------------------------------------------------------

    def _job_finished(self) -> None:
        """A slot is free and waiters may have their answer: tell the worker and them."""
        self._wake.set()
        finished, self._finished = self._finished, asyncio.Event()
        finished.set()

    async def run_worker(self, runners: Mapping[str, JobRunner]) -> None:
        """Claim and run jobs until cancelled (one worker loop per process), each by the
        runner of its kind: the composition root hands the whole list over here, so
        which code runs which job is visible in one place (``build_services``)."""
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                self._wake.clear()
                while len(running) < self._config.concurrency:
                    now = self._clock.now_ms()
                    stale = now - int(self._config.heartbeat_timeout * 1000)
                    claim = f"{self._worker_id}.{uuid.uuid4().hex[:8]}"
                    job = await self._storage.jobs.claim(claim, now, stale)
                    if job is None:
                        break
                    task = asyncio.create_task(self._run(job, claim, runners.get(job.kind)))
                    running.add(task)
                    task.add_done_callback(running.discard)
                # Poll too: another process may schedule, or a job's worker may die.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)
        finally:
            for task in running:
                task.cancel()

    async def _run(self, job: Job, claim: str, runner: JobRunner | None) -> None:
        try:
            await self._run_claimed(JobContext(job, self, claim), runner)
        finally:
            self._job_finished()

    async def _run_claimed(self, context: JobContext, runner: JobRunner | None) -> None:
        job = context.job
        logger.info("job %s (%s) started", job.job_id, job.kind)
        work = asyncio.create_task(self._call(runner, context))
        beat = asyncio.create_task(self._beat(context))
        try:
            await asyncio.wait((work, beat), return_when=asyncio.FIRST_COMPLETED)
        finally:
            beat.cancel()
            if not work.done():
                # The heartbeat found the claim lost: the job is someone else's now.
                work.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await beat
        try:
            result = await work
        except JobCancelled:
            logger.info("job %s (%s) cancelled at %d", job.job_id, job.kind, context.done)
            return
        except (ClaimLost, asyncio.CancelledError):
            # Cancelled here only by the heartbeat (a cancelled worker stops in the wait).
            logger.warning("job %s (%s): claim lost to another worker; stopped", job.job_id,
                           job.kind)
            return
        except Exception as e:
            logger.exception("job %s (%s) failed", job.job_id, job.kind)
            await self._storage.jobs.finish(job.job_id, context.claim, FAILED,
                                            self._clock.now_ms(), None,
                                            str(e) or type(e).__name__)
            return
        if await self._storage.jobs.finish(job.job_id, context.claim, COMPLETE,
                                           self._clock.now_ms(), result, None):
            logger.info("job %s (%s) complete", job.job_id, job.kind)
        else:
            logger.warning("job %s (%s) finished after losing its claim; result dropped",
                           job.job_id, job.kind)

    @staticmethod
    async def _call(runner: JobRunner | None, context: JobContext) -> dict[str, Any]:
        if runner is None:
            raise RuntimeError(f"no runner for job kind {context.job.kind!r}")
        return await runner(context)

    async def _beat(self, context: JobContext) -> None:
        """Heartbeat even while a runner is inside one long step; returns (ending the
        run at once) only when the claim is lost. A cancellation is left for the
        runner's next progress call, between two steps."""
        while True:
            await self._clock.sleep(self._config.heartbeat_timeout / 3)
            try:
                await self.heartbeat(context)
            except ClaimLost:
                return
            except JobCancelled:
                continue
