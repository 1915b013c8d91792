"""Reporting content: ``/rooms/{roomId}/report/{eventId}``, ``/rooms/{roomId}/report``
and ``/users/{userId}/report``.

As in Synapse, a ``reason`` or ``score`` that is given must have its type: ``null`` is
refused (``M_BAD_JSON``), not read as absent."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.reports import MAX_SCORE, MIN_SCORE

routes = RouteGroup()


class EventReportBody(msgspec.Struct):
    reason: str | UnsetType = UNSET
    score: Annotated[int, msgspec.Meta(ge=MIN_SCORE, le=MAX_SCORE)] | UnsetType = UNSET


class ReasonBody(msgspec.Struct):
    """Room and user reports: the reason is required (it may be blank)."""

    reason: str


@routes.post(*client_paths("/rooms/{roomId}/report/{eventId}"), auth=Auth.USER,
             ratelimit="default", body=EventReportBody)
async def report_event(req: Request[EventReportBody]) -> Empty:
    body = req.body
    await req.services.reports.report_event(
        req.uow, req.path("roomId"), req.path("eventId"),
        None if body.reason is UNSET else body.reason,
        None if body.score is UNSET else body.score)
    return EMPTY


# Room and user reports were added in v1.13 / v1.14, so there is no r0 form.
@routes.post(*client_paths("/rooms/{roomId}/report", ("v3",)), auth=Auth.USER,
             ratelimit="default", body=ReasonBody)
async def report_room(req: Request[ReasonBody]) -> Empty:
    await req.services.reports.report_room(req.uow, req.path("roomId"),
                                           req.body.reason)
    return EMPTY


@routes.post(*client_paths("/users/{userId}/report", ("v3",)), auth=Auth.USER,
             ratelimit="default", body=ReasonBody)
async def report_user(req: Request[ReasonBody]) -> Empty:
    await req.services.reports.report_user(req.uow, req.path("userId"),
                                           req.body.reason)
    return EMPTY
