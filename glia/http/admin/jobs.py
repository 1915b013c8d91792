"""``/_glia/admin/v1/jobs``: long admin operations, their progress, and cancelling them;
and Synapse's ``/v1/scheduled_tasks``, a view of the same table."""

from __future__ import annotations

from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths, glia_paths
from glia.services.admin.jobs import JobList, JobView, ScheduledTasks

routes = RouteGroup()


@routes.get(*glia_paths("/v1/jobs"), auth=Auth.ADMIN)
async def list_jobs(req: Request) -> JobList:
    """Newest first; filter by ``kind``, ``status`` and ``target``."""
    page = page_params(req)
    return await req.services.job_admin.page(
        kind=req.query("kind") or None, status=req.query("status") or None,
        target=req.query("target") or None, offset=page.offset, limit=page.limit)


@routes.get(*glia_paths("/v1/jobs/{jobId}"), auth=Auth.ADMIN)
async def get_job(req: Request) -> JobView:
    return await req.services.job_admin.get(req.path("jobId"))


@routes.post(*glia_paths("/v1/jobs/{jobId}/cancel"), auth=Auth.ADMIN, audit="jobs.cancel")
async def cancel_job(req: Request) -> JobView:
    return await req.services.job_admin.cancel(req.uow, req.path("jobId"))


@routes.get(*admin_paths("/v1/scheduled_tasks"), auth=Auth.ADMIN)
async def scheduled_tasks(req: Request) -> ScheduledTasks:
    """Filtered by ``action_name``, ``resource_id``, ``status`` (or ``job_status``) and
    ``max_timestamp``."""
    return await req.services.job_admin.scheduled_tasks(
        action=req.query("action_name") or None, resource_id=req.query("resource_id"),
        status=req.query("status") or req.query("job_status"),
        max_timestamp=req.query_int("max_timestamp", clamp=False))
