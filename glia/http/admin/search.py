"""Dendrite's ``/_dendrite/admin/fulltext/reindex``: rebuild the search index as a job.

Dendrite serves it as GET (older docs) and answers ``{}``; both GET and POST are served,
and the answer adds the ``job_id`` to follow at ``/_glia/admin/v1/jobs/{jobId}``.
"""

from __future__ import annotations

from typing import Any

from glia.http.admin.dry_run import DryRunBody, dry_run
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, dendrite_paths

routes = RouteGroup()


@routes.route("GET", *dendrite_paths("/fulltext/reindex"), auth=Auth.ADMIN,
              audit="search.reindex")
@routes.post(*dendrite_paths("/fulltext/reindex"), auth=Auth.ADMIN, audit="search.reindex",
             body=DryRunBody, empty_body=True)
async def reindex(req: Request[DryRunBody]) -> dict[str, Any]:
    return await req.services.search_admin.reindex(req.uow, dry_run(req))
