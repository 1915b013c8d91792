"""Reports to the admins: Synapse's ``/v1/event_reports`` and ``/v1/user_reports`` (list,
get, delete), and Glia's ``/v1/reports`` over every kind (event, room, user)."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths, glia_paths
from glia.services.admin.reports import KINDS, ReportQuery, parse_report_id

routes = RouteGroup()


async def _list(req: Request, key: str, kind: str | None) -> dict[str, Any]:
    """Synapse's report-list shape: newest first unless ``dir=f``, an integer
    ``next_token`` (``from`` + returned) only while ``from + limit < total``."""
    page = page_params(req)
    newest_first = (req.query("dir") or "b") == "b"
    query = ReportQuery(
        kind=kind, user_id=req.query("user_id") or None, room_id=req.query("room_id") or None,
        event_sender=req.query("event_sender_user_id") or None,
        reported_user_id=req.query("target_user_id") or None,
    )
    service = req.services.report_admin
    if key == "event_reports":
        items, total = await service.event_reports(query, page.offset, page.limit,
                                                   newest_first)
    elif key == "user_reports":
        items, total = await service.user_reports(query, page.offset, page.limit,
                                                  newest_first)
    else:
        items, total = await service.reports(query, page.offset, page.limit, newest_first)
    body: dict[str, Any] = {key: items, "total": total}
    if page.offset + page.limit < total:
        body["next_token"] = page.offset + len(items)
    return body


# -- Synapse: event reports ------------------------------------------------------------

@routes.get(*admin_paths("/v1/event_reports"), auth=Auth.ADMIN)
async def list_event_reports(req: Request) -> dict[str, Any]:
    return await _list(req, "event_reports", "event")


@routes.get(*admin_paths("/v1/event_reports/{report_id}"), auth=Auth.ADMIN)
async def get_event_report(req: Request) -> dict[str, Any]:
    return await req.services.report_admin.event_report(parse_report_id(req.path("report_id")))


@routes.delete(*admin_paths("/v1/event_reports/{report_id}"), auth=Auth.ADMIN,
               audit="event_reports.delete")
async def delete_event_report(req: Request) -> dict[str, Any]:
    await req.services.report_admin.delete(req.uow, parse_report_id(req.path("report_id")),
                                           "event")
    return {}


# -- Synapse: user reports -------------------------------------------------------------

@routes.get(*admin_paths("/v1/user_reports"), auth=Auth.ADMIN)
async def list_user_reports(req: Request) -> dict[str, Any]:
    return await _list(req, "user_reports", "user")


@routes.get(*admin_paths("/v1/user_reports/{report_id}"), auth=Auth.ADMIN)
async def get_user_report(req: Request) -> dict[str, Any]:
    return await req.services.report_admin.user_report(parse_report_id(req.path("report_id")))


@routes.delete(*admin_paths("/v1/user_reports/{report_id}"), auth=Auth.ADMIN,
               audit="user_reports.delete")
async def delete_user_report(req: Request) -> dict[str, Any]:
    await req.services.report_admin.delete(req.uow, parse_report_id(req.path("report_id")),
                                           "user")
    return {}


# -- Glia: every kind ------------------------------------------------------------------

@routes.get(*glia_paths("/v1/reports"), auth=Auth.ADMIN)
async def list_reports(req: Request) -> dict[str, Any]:
    """``kind=event|room|user`` narrows the list; without it, every report."""
    kind = req.query("kind") or None
    if kind is not None and kind not in KINDS:
        raise errors.invalid_param(f"Query parameter 'kind' must be one of {list(KINDS)}")
    return await _list(req, "reports", kind)


@routes.get(*glia_paths("/v1/reports/{report_id}"), auth=Auth.ADMIN)
async def get_report(req: Request) -> dict[str, Any]:
    return await req.services.report_admin.report(parse_report_id(req.path("report_id")))


@routes.delete(*glia_paths("/v1/reports/{report_id}"), auth=Auth.ADMIN,
               audit="reports.delete")
async def delete_report(req: Request) -> dict[str, Any]:
    await req.services.report_admin.delete(req.uow, parse_report_id(req.path("report_id")),
                                           None)
    return {}
