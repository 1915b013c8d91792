"""``/_glia/admin/v1/jobs``: long admin operations, their progress, and cancelling them."""

from __future__ import annotations

from typing import Any

from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, glia_paths
from glia.services.admin.jobs import Job

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
    async with req.services.audit.transaction(req.audit) as tx:
        job = await req.services.jobs.cancel(req.path("jobId"), tx)
    return job_json(job)
