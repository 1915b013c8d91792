"""Jobs as the admin API shows them: Glia's ``/v1/jobs`` (list, one job, cancel) and
Synapse's ``/v1/scheduled_tasks``, a view of the same table in Synapse's task shape."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.services.jobs import JOB_STATUSES, Job, JobsService
from glia.services.paging import next_offset
from glia.services.unit_of_work import UnitOfWork
from glia.storage.jobs import SCHEDULED

__all__ = ["JobAdminService", "JobList", "JobProgress", "JobView", "ScheduledTask",
           "ScheduledTasks"]


class JobProgress(msgspec.Struct):
    done: int
    total: int | None


class JobView(msgspec.Struct):
    """One job, every key present (nulls for what has not happened yet)."""

    job_id: str
    kind: str
    params: dict[str, Any]
    status: str
    progress: JobProgress
    result: dict[str, Any] | None
    error: str | None
    started_by: str
    created_ts: int
    started_ts: int | None
    finished_ts: int | None
    target: str | None

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls(job.job_id, job.kind, job.params, job.status,
                   JobProgress(job.done, job.total), job.result, job.error, job.started_by,
                   job.created_ts, job.started_ts, job.finished_ts, job.target)


class JobList(msgspec.Struct):
    """Newest first; ``next_token`` (a string) only while more remain."""

    jobs: list[JobView]
    total: int
    next_token: str | UnsetType = UNSET


class ScheduledTask(msgspec.Struct):
    """A job in Synapse's scheduled-task shape."""

    id: str
    action: str
    status: str
    timestamp_ms: int
    resource_id: str | None
    result: dict[str, Any] | None
    error: str | None


class ScheduledTasks(msgspec.Struct):
    scheduled_tasks: list[ScheduledTask]


def _timestamp(job: Job) -> int:
    """Synapse's task timestamp: when it was scheduled, or when it last moved."""
    if job.status == SCHEDULED:
        return job.created_ts
    return job.finished_ts or job.started_ts or job.created_ts


class JobAdminService:
    def __init__(self, jobs: JobsService) -> None:
        self._jobs = jobs

    async def page(self, *, kind: str | None, status: str | None, target: str | None,
                   offset: int, limit: int) -> JobList:
        jobs, total = await self._jobs.page(kind=kind, status=status, target=target,
                                            offset=offset, limit=limit)
        following = next_offset(offset, len(jobs), total)
        return JobList([JobView.of(j) for j in jobs], total,
                       UNSET if following is None else str(following))

    async def get(self, job_id: str) -> JobView:
        return JobView.of(await self._jobs.get(job_id))

    async def cancel(self, uow: UnitOfWork, job_id: str) -> JobView:
        """Cancel a scheduled or running job (its runner stops at its next step)."""
        async with uow.transaction() as tx:
            job = await self._jobs.cancel(job_id, tx)
        return JobView.of(job)

    async def scheduled_tasks(self, *, action: str | None, resource_id: str | None,
                              status: str | None, max_timestamp: int | None
                              ) -> ScheduledTasks:
        """Synapse's task list: every matching job with a timestamp before
        ``max_timestamp``; not paginated, as there."""
        if status is not None and status not in JOB_STATUSES:
            raise errors.invalid_param(f"status must be one of {list(JOB_STATUSES)}")
        tasks = []
        for job in await self._jobs.all(kind=action, status=status, target=resource_id):
            ts = _timestamp(job)
            if max_timestamp is not None and ts >= max_timestamp:
                continue
            tasks.append(ScheduledTask(job.job_id, job.kind, job.status, ts, job.target,
                                       job.result, job.error))
        return ScheduledTasks(tasks)
