"""Reporting content: ``/rooms/{roomId}/report/{eventId}``, ``/rooms/{roomId}/report``
and ``/users/{userId}/report``."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


@routes.post(*client_paths("/rooms/{roomId}/report/{eventId}"), auth=Auth.USER,
             ratelimit="default")
async def report_event(req: Request) -> dict[str, Any]:
    await req.services.reports.report_event(req.requester.user_id, req.path("roomId"),
                                            req.path("eventId"), req.json())
    return {}


# Room and user reports were added in v1.13 / v1.14, so there is no r0 form.
@routes.post(*client_paths("/rooms/{roomId}/report", ("v3",)), auth=Auth.USER,
             ratelimit="default")
async def report_room(req: Request) -> dict[str, Any]:
    await req.services.reports.report_room(req.requester.user_id, req.path("roomId"),
                                           req.json())
    return {}


@routes.post(*client_paths("/users/{userId}/report", ("v3",)), auth=Auth.USER,
             ratelimit="default")
async def report_user(req: Request) -> dict[str, Any]:
    await req.services.reports.report_user(req.requester.user_id, req.path("userId"),
                                           req.json())
    return {}
