"""Dendrite's ``/_dendrite/admin/fulltext/reindex``: rebuild the search index as a job.

Dendrite serves it as GET (older docs) and answers ``{}``; both GET and POST are served,
and the answer adds the ``job_id`` to follow at ``/_glia/admin/v1/jobs/{jobId}``.
"""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, dendrite_paths

routes = RouteGroup()


def _dry_run(req: Request) -> bool:
    """``dry_run`` from the query string or, for a POST with a body, the JSON body. A
    HEAD (which the router answers with the GET handler) never starts anything."""
    if req.raw.method == "HEAD":
        return True
    if req.query("dry_run") is not None:
        return bool(req.query_bool("dry_run"))
    if req.raw.method != "POST":
        return False
    value = req.json_or_empty().get("dry_run", False)
    if not isinstance(value, bool):
        raise errors.bad_json("Param 'dry_run' must be a boolean, if given")
    return value


@routes.route("GET", *dendrite_paths("/fulltext/reindex"), auth=Auth.ADMIN,
              audit="search.reindex")
@routes.post(*dendrite_paths("/fulltext/reindex"), auth=Auth.ADMIN, audit="search.reindex")
async def reindex(req: Request) -> dict[str, Any]:
    return await req.services.search_admin.reindex(req.audit, req.requester.user_id,
                                                   _dry_run(req))
