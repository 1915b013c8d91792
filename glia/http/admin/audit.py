"""``GET /_glia/admin/v1/audit_log``: who did what through the admin API (Glia only)."""

from __future__ import annotations

from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, glia_paths
from glia.services.audit import AuditLog, AuditQuery

routes = RouteGroup()


@routes.get(*glia_paths("/v1/audit_log"), auth=Auth.ADMIN)
async def audit_log(req: Request) -> AuditLog:
    """Newest first by default (``dir=b``); ``dir=f`` walks from the oldest."""
    page = page_params(req)
    backwards = (req.query("dir") or "b") == "b"
    query = AuditQuery(actor=req.query("actor") or None, action=req.query("action") or None,
                       target=req.query("target") or None,
                       since_ts=req.query_int("from_ts", clamp=False),
                       until_ts=req.query_int("until_ts", clamp=False))
    return await req.services.audit.page(query, offset=page.offset, limit=page.limit,
                                         newest_first=backwards)
