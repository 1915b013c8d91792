"""Jobs as the admin API shows them: Glia's ``/v1/jobs`` (list, one job, cancel) and
Synapse's ``/v1/scheduled_tasks``, a view of the same table in Synapse's task shape."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.services.admin.redact import REDACT_USER_EVENTS
from glia.services.admin.room_deletion import PURGE_ROOM, SHUTDOWN_AND_PURGE, ShutdownRoom
from glia.services.admin.room_moderation import PURGE_HISTORY
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


#: Glia's job kinds under Synapse's task action names, where they differ.
_ACTIONS = {REDACT_USER_EVENTS: "redact_all_events"}
_KINDS = {action: kind for kind, action in _ACTIONS.items()}


def _task_result(job: Job) -> dict[str, Any] | None:
    """The result in the shape Synapse's task of that action has: the shutdown report
    for a room deletion, the failed redactions for a user redaction, nothing for
    purges; Glia's own kinds keep theirs."""
    if job.kind == SHUTDOWN_AND_PURGE:
        shutdown = ShutdownRoom.of_result(job.result)
        return None if shutdown is None else msgspec.to_builtins(shutdown)
    if job.kind in (PURGE_ROOM, PURGE_HISTORY):
        return None
    if job.kind == REDACT_USER_EVENTS:
        return None if job.result is None else {
            "failed_redactions": dict(job.result.get("failed_redactions") or {})}
    return job.result


def _task(job: Job) -> ScheduledTask:
    return ScheduledTask(job.job_id, _ACTIONS.get(job.kind, job.kind), job.status,
                         _timestamp(job), job.target, _task_result(job), job.error)


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
        """Synapse's task list: every matching job whose timestamp is at most
        ``max_timestamp``, oldest first; not paginated, as there."""
        if status is not None and status not in JOB_STATUSES:
            raise errors.invalid_param(f"status must be one of {list(JOB_STATUSES)}")
        if action in _ACTIONS:  # a Glia kind that Synapse knows under another name
            return ScheduledTasks([])
        kind = None if action is None else _KINDS.get(action, action)
        tasks = [_task(job) for job in
                 await self._jobs.all(kind=kind, status=status, target=resource_id)]
        if max_timestamp is not None:
            tasks = [t for t in tasks if t.timestamp_ms <= max_timestamp]
        return ScheduledTasks(sorted(tasks, key=lambda t: t.timestamp_ms))
