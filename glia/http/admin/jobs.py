"""``/_glia/admin/v1/jobs``: long admin operations, their progress, and cancelling them;
and Synapse's ``/v1/scheduled_tasks``, a view of the same table."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths, glia_paths
from glia.services.jobs import JOB_STATUSES, Job

routes = RouteGroup()


def job_json(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id, "kind": job.kind, "params": job.params, "status": job.status,
        "progress": {"done": job.done, "total": job.total}, "result": job.result,
        "error": job.error, "started_by": job.started_by, "created_ts": job.created_ts,
        "started_ts": job.started_ts, "finished_ts": job.finished_ts, "target": job.target,
    }


@routes.get(*glia_paths("/v1/jobs"), auth=Auth.ADMIN)
async def list_jobs(req: Request) -> dict[str, Any]:
    """Newest first; filter by ``kind``, ``status`` and ``target``."""
    page = page_params(req)
    jobs, total = await req.services.jobs.page(
        kind=req.query("kind") or None, status=req.query("status") or None,
        target=req.query("target") or None, offset=page.offset, limit=page.limit)
    body: dict[str, Any] = {"jobs": [job_json(j) for j in jobs], "total": total}
    following = page.next_token(len(jobs), total)
    if following is not None:
        body["next_token"] = str(following)
    return body


@routes.get(*glia_paths("/v1/jobs/{jobId}"), auth=Auth.ADMIN)
async def get_job(req: Request) -> dict[str, Any]:
    return job_json(await req.services.jobs.get(req.path("jobId")))


@routes.post(*glia_paths("/v1/jobs/{jobId}/cancel"), auth=Auth.ADMIN, audit="jobs.cancel")
async def cancel_job(req: Request) -> dict[str, Any]:
    async with req.uow.transaction() as tx:
        job = await req.services.jobs.cancel(req.path("jobId"), tx)
    return job_json(job)


@routes.get(*admin_paths("/v1/scheduled_tasks"), auth=Auth.ADMIN)
async def scheduled_tasks(req: Request) -> dict[str, Any]:
    """Synapse's task list: every job, filtered by ``action_name``, ``resource_id``,
    ``status`` (or ``job_status``) and ``max_timestamp``; not paginated, as there."""
    status = req.query("status") or req.query("job_status")
    if status is not None and status not in JOB_STATUSES:
        raise errors.invalid_param(f"status must be one of {list(JOB_STATUSES)}")
    max_ts = req.query_int("max_timestamp", clamp=False)
    tasks = []
    for job in await req.services.jobs.all(kind=req.query("action_name") or None,
                                           status=status, target=req.query("resource_id")):
        ts = job.created_ts if job.status == "scheduled" else (
            job.finished_ts or job.started_ts or job.created_ts)
        if max_ts is not None and ts >= max_ts:
            continue
        tasks.append({"id": job.job_id, "action": job.kind, "status": job.status,
                      "timestamp_ms": ts, "resource_id": job.target, "result": job.result,
                      "error": job.error})
    return {"scheduled_tasks": tasks}
