"""Reports to the admins: Synapse's ``/v1/event_reports`` and ``/v1/user_reports`` (list,
get, delete), and Glia's ``/v1/reports`` over every kind (event, room, user)."""

from __future__ import annotations

from typing import Any

from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths, glia_paths
from glia.services.admin.reports import (
    AnyReport,
    EventReport,
    EventReports,
    ReportQuery,
    Reports,
    UserReport,
    UserReports,
    parse_report_id,
)

routes = RouteGroup()


def _query(req: Request, kind: str | None) -> ReportQuery:
    return ReportQuery(
        kind=kind, user_id=req.query("user_id") or None, room_id=req.query("room_id") or None,
        event_sender=req.query("event_sender_user_id") or None,
        reported_user_id=req.query("target_user_id") or None,
    )


def _newest_first(req: Request) -> bool:
    """Report lists are newest first unless ``dir=f``."""
    return (req.query("dir") or "b") == "b"


# -- Synapse: event reports ------------------------------------------------------------

@routes.get(*admin_paths("/v1/event_reports"), auth=Auth.ADMIN)
async def list_event_reports(req: Request) -> EventReports:
    page = page_params(req)
    return await req.services.report_admin.event_reports(
        _query(req, "event"), page.offset, page.limit, _newest_first(req))


@routes.get(*admin_paths("/v1/event_reports/{report_id}"), auth=Auth.ADMIN)
async def get_event_report(req: Request) -> EventReport:
    return await req.services.report_admin.event_report(parse_report_id(req.path("report_id")))


@routes.delete(*admin_paths("/v1/event_reports/{report_id}"), auth=Auth.ADMIN,
               audit="event_reports.delete")
async def delete_event_report(req: Request) -> dict[str, Any]:
    await req.services.report_admin.delete(req.uow, parse_report_id(req.path("report_id")),
                                           "event")
    return {}


# -- Synapse: user reports -------------------------------------------------------------

@routes.get(*admin_paths("/v1/user_reports"), auth=Auth.ADMIN)
async def list_user_reports(req: Request) -> UserReports:
    page = page_params(req)
    return await req.services.report_admin.user_reports(
        _query(req, "user"), page.offset, page.limit, _newest_first(req))


@routes.get(*admin_paths("/v1/user_reports/{report_id}"), auth=Auth.ADMIN)
async def get_user_report(req: Request) -> UserReport:
    return await req.services.report_admin.user_report(parse_report_id(req.path("report_id")))


@routes.delete(*admin_paths("/v1/user_reports/{report_id}"), auth=Auth.ADMIN,
               audit="user_reports.delete")
async def delete_user_report(req: Request) -> dict[str, Any]:
    await req.services.report_admin.delete(req.uow, parse_report_id(req.path("report_id")),
                                           "user")
    return {}


# -- Glia: every kind ------------------------------------------------------------------

@routes.get(*glia_paths("/v1/reports"), auth=Auth.ADMIN)
async def list_reports(req: Request) -> Reports:
    """``kind=event|room|user`` narrows the list; without it, every report."""
    page = page_params(req)
    return await req.services.report_admin.reports(
        _query(req, req.query("kind") or None), page.offset, page.limit, _newest_first(req))


@routes.get(*glia_paths("/v1/reports/{report_id}"), auth=Auth.ADMIN)
async def get_report(req: Request) -> AnyReport:
    return await req.services.report_admin.report(parse_report_id(req.path("report_id")))


@routes.delete(*glia_paths("/v1/reports/{report_id}"), auth=Auth.ADMIN,
               audit="reports.delete")
async def delete_report(req: Request) -> dict[str, Any]:
    await req.services.report_admin.delete(req.uow, parse_report_id(req.path("report_id")),
                                           None)
    return {}
