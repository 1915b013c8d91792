"""Long admin operations as durable jobs: scheduled, run by a worker, resumable, cancellable.

A job is a row first (``scheduled``), so scheduling can share the transaction of the
request that asked for it. Each process runs a worker that claims jobs and heartbeats
while running one; when a process dies, its job's heartbeat goes stale and any worker
claims it again and starts it over. Runners are therefore written as idempotent steps,
and report progress through :meth:`JobContext.progress`, which is also where a
cancellation takes effect.
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
from glia.clock import now_ms
from glia.config import JobsConfig
from glia.errors import MatrixError
from glia.storage import Storage, Stores
from glia.storage.jobs import ACTIVE, CANCELLED, COMPLETE, FAILED, SCHEDULED, Job

logger = logging.getLogger(__name__)

__all__ = ["JOB_STATUSES", "Job", "JobCancelled", "JobContext", "JobRunner", "JobsService"]

JOB_STATUSES = (SCHEDULED, ACTIVE, COMPLETE, FAILED, CANCELLED)


class JobCancelled(Exception):
    """The job was cancelled while running; the runner stops at its next progress call."""


@dataclass
class JobContext:
    job: Job
    _service: JobsService
    done: int = 0
    total: int | None = None
    _last_log: float = field(default=0.0)

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    async def progress(self, done: int, total: int | None = None) -> None:
        """Persist progress (and heartbeat); raises :class:`JobCancelled` if cancelled."""
        self.done = done
        if total is not None:
            self.total = total
        status = await self._service.heartbeat(self)
        if status == CANCELLED:
            raise JobCancelled()


    async def save_result(self, partial: dict[str, Any]) -> None:
        """Persist a partial result (also ``job.result`` when a restarted job resumes)."""
        await self._service.save_result(self, partial)


JobRunner = Callable[[JobContext], Awaitable[dict[str, Any]]]


class JobsService:
    def __init__(self, storage: Storage, config: JobsConfig) -> None:
        self._storage = storage
        self._config = config
        self._runners: dict[str, JobRunner] = {}
        self._worker_id = f"w{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()

    def register(self, kind: str, runner: JobRunner) -> None:
        self._runners[kind] = runner

    async def schedule(self, kind: str, params: Mapping[str, Any], started_by: str,
                       tx: Stores | None = None, target: str | None = None) -> str:
        """Create a job (in ``tx`` if given, so it commits with the request's change)."""
        if kind not in self._runners:
            raise ValueError(f"no runner for job kind {kind!r}")
        job_id = uuid.uuid4().hex
        stores = tx if tx is not None else self._storage
        await stores.jobs.insert(job_id, kind, dict(params), started_by, now_ms(), target)
        # Woken before the row commits, the worker would find nothing and sleep a poll.
        stores.after_commit(self._wake.set)
        return job_id

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
        if not await tx.jobs.cancel(job_id, now_ms()):
            raise MatrixError(400, "M_UNKNOWN", f"Job {job_id} is already {job.status}")
        cancelled = await tx.jobs.get(job_id)
        assert cancelled is not None
        return cancelled

    async def save_result(self, context: JobContext, partial: dict[str, Any]) -> None:
        await self._storage.jobs.save_result(context.job.job_id, self._worker_id, partial)

    async def wait(self, job_id: str, poll: float = 0.05) -> Job:
        """Wait for a job to finish (synchronous admin endpoints built on jobs)."""
        self._wake.set()
        while True:
            job = await self.get(job_id)
            if job.status in (COMPLETE, FAILED, CANCELLED):
                return job
            await asyncio.sleep(poll)

    async def heartbeat(self, context: JobContext) -> str | None:
        status = await self._storage.jobs.heartbeat(
            context.job.job_id, self._worker_id, now_ms(), context.done, context.total)
        loop_time = asyncio.get_running_loop().time()
        if loop_time - context._last_log >= 5:
            context._last_log = loop_time
            logger.info("job %s (%s): %d/%s done", context.job.job_id, context.job.kind,
                        context.done, "?" if context.total is None else context.total)
        return status

    # -- the worker ------------------------------------------------------------------

    async def run_worker(self) -> None:
        """Claim and run jobs until cancelled (one worker loop per process)."""
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                while len(running) < self._config.concurrency:
                    now = now_ms()
                    stale = now - int(self._config.heartbeat_timeout * 1000)
                    job = await self._storage.jobs.claim(self._worker_id, now, stale)
                    if job is None:
                        break
                    task = asyncio.create_task(self._run(job))
                    running.add(task)
                    task.add_done_callback(running.discard)
                self._wake.clear()
                # Poll too: another process may schedule, or a job's worker may die.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(),
                                           timeout=self._config.heartbeat_timeout / 3)
        finally:
            for task in running:
                task.cancel()

    async def _run(self, job: Job) -> None:
        context = JobContext(job, self)
        runner = self._runners.get(job.kind)
        logger.info("job %s (%s) started", job.job_id, job.kind)
        beat = asyncio.create_task(self._beat(context))
        try:
            if runner is None:
                raise RuntimeError(f"no runner for job kind {job.kind!r}")
            result = await runner(context)
        except JobCancelled:
            logger.info("job %s (%s) cancelled at %d", job.job_id, job.kind, context.done)
            return
        except asyncio.CancelledError:
            raise
        except Exception as e:
            logger.exception("job %s (%s) failed", job.job_id, job.kind)
            await self._storage.jobs.finish(job.job_id, self._worker_id, FAILED, now_ms(),
                                            None, str(e) or type(e).__name__)
            return
        finally:
            beat.cancel()
        await self._storage.jobs.finish(job.job_id, self._worker_id, COMPLETE, now_ms(),
                                        result, None)
        logger.info("job %s (%s) complete", job.job_id, job.kind)

    async def _beat(self, context: JobContext) -> None:
        """Heartbeat even while a runner is inside one long step."""
        while True:
            await asyncio.sleep(self._config.heartbeat_timeout / 3)
            await self.heartbeat(context)
