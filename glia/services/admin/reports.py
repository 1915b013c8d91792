"""Reading and dismissing reports: Synapse's ``event_reports`` and ``user_reports`` APIs and
Glia's list of every kind (room reports have no Synapse admin API).

Lists page by report id, which grows with arrival, so ``dir=f&from=N`` polling (Draupnir,
Mjolnir) sees a stable order even when two reports share a timestamp. The room's name and
canonical alias are read from its current state when the page is rendered.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.protocol.canonical_json import INT64_MAX
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage
from glia.storage.events import StoredEvent
from glia.storage.reports import KINDS, Report, ReportQuery

__all__ = ["KINDS", "AnyReport", "EventReport", "EventReports", "ReportAdminService",
           "ReportQuery", "Reports", "RoomReport", "UserReport", "UserReports",
           "parse_report_id"]

#: Offsets and limits beyond what a 64-bit SQL integer holds are clamped, never a 500.
_NAME_KEYS = [("m.room.name", ""), ("m.room.canonical_alias", "")]
_DIGITS = re.compile(r"[0-9]+")

EVENT_REPORT_NOT_FOUND = "Event report not found"
USER_REPORT_NOT_FOUND = "User report not found"
REPORT_NOT_FOUND = "Report not found"


def parse_report_id(value: str) -> int:
    """A report id from the path: a non-negative integer (Synapse's 400 otherwise).
    Numbers past any stored id are simply not found."""
    if not _DIGITS.fullmatch(value):
        raise errors.invalid_param(
            "The report_id parameter must be a string representing a positive integer.")
    number = int(value)
    return number if number <= INT64_MAX else -1


RoomNames = dict[str, tuple[str | None, str | None]]


class EventReport(msgspec.Struct, kw_only=True):
    """An event report in Synapse's shape; ``kind`` only in Glia's list of every kind,
    ``event_json`` only when one report is read."""

    kind: str | UnsetType = UNSET
    id: int
    received_ts: int
    room_id: str | None
    name: str | None
    event_id: str | None
    user_id: str
    reason: str | None
    score: int | None
    sender: str | None
    canonical_alias: str | None
    event_json: dict[str, Any] | UnsetType | None = UNSET


class UserReport(msgspec.Struct, kw_only=True):
    """A user report in Synapse's shape (``kind`` only in Glia's list)."""

    kind: str | UnsetType = UNSET
    id: int
    received_ts: int
    target_user_id: str | None
    user_id: str
    reason: str | None


class RoomReport(msgspec.Struct, kw_only=True):
    """A room report (Glia's; Synapse has no admin API for them)."""

    kind: str | UnsetType = UNSET
    id: int
    received_ts: int
    room_id: str | None
    name: str | None
    canonical_alias: str | None
    user_id: str
    reason: str | None


AnyReport = EventReport | UserReport | RoomReport


class EventReports(msgspec.Struct):
    """Synapse's list: ``next_token`` (``from`` + returned) only while
    ``from + limit < total``."""

    event_reports: list[EventReport]
    total: int
    next_token: int | UnsetType = UNSET


class UserReports(msgspec.Struct):
    user_reports: list[UserReport]
    total: int
    next_token: int | UnsetType = UNSET


class Reports(msgspec.Struct):
    reports: list[AnyReport]
    total: int
    next_token: int | UnsetType = UNSET


def _next_token(offset: int, limit: int, returned: int, total: int) -> int | UnsetType:
    """Synapse's report-list rule (not the generic one: it looks at ``limit``)."""
    return offset + returned if offset + limit < total else UNSET


def _event_item(report: Report, names: RoomNames) -> EventReport:
    """One row of Synapse's ``event_reports`` list."""
    name, alias = names.get(report.room_id or "", (None, None))
    return EventReport(
        id=report.report_id, received_ts=report.received_ts, room_id=report.room_id,
        name=name, event_id=report.event_id, user_id=report.user_id, reason=report.reason,
        score=report.score, sender=report.event_sender, canonical_alias=alias)


def _user_item(report: Report) -> UserReport:
    """One row of Synapse's ``user_reports`` list."""
    return UserReport(id=report.report_id, received_ts=report.received_ts,
                      target_user_id=report.reported_user_id, user_id=report.user_id,
                      reason=report.reason)


def _room_item(report: Report, names: RoomNames) -> RoomReport:
    name, alias = names.get(report.room_id or "", (None, None))
    return RoomReport(id=report.report_id, received_ts=report.received_ts,
                      room_id=report.room_id, name=name, canonical_alias=alias,
                      user_id=report.user_id, reason=report.reason)


def _any_item(report: Report, names: RoomNames) -> AnyReport:
    """A row of Glia's list: the kind's Synapse-shaped fields plus ``kind``."""
    item: AnyReport
    if report.kind == "event":
        item = _event_item(report, names)
    elif report.kind == "user":
        item = _user_item(report)
    else:
        item = _room_item(report, names)
    item.kind = report.kind
    return item


class ReportAdminService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def _room_names(self, reports: list[Report]) -> RoomNames:
        """Current name and canonical alias of each room the reports point at."""
        room_ids = sorted({r.room_id for r in reports if r.room_id is not None})
        state: dict[str, dict[tuple[str, str], str]] = {}
        for room_id in room_ids:
            state[room_id] = await self._storage.state.ids_at(
                room_id, None, keys=_NAME_KEYS, types=[t for t, _ in _NAME_KEYS])
        events = await self._storage.events.get_many(
            [eid for ids in state.values() for eid in ids.values()])
        names: RoomNames = {}
        for room_id, ids in state.items():
            found: list[str | None] = []
            for key, field in zip(_NAME_KEYS, ("name", "alias"), strict=True):
                event = events.get(ids.get(key, ""))
                value = event.content.get(field) if event is not None else None
                found.append(value if isinstance(value, str) else None)
            names[room_id] = (found[0], found[1])
        return names

    async def _page(self, query: ReportQuery, offset: int, limit: int,
                    newest_first: bool) -> tuple[list[Report], int]:
        return await self._storage.reports.page(
            query, offset=min(offset, INT64_MAX), limit=min(limit, INT64_MAX),
            newest_first=newest_first)

    # -- Synapse: event reports --------------------------------------------------------

    async def event_reports(self, query: ReportQuery, offset: int, limit: int,
                            newest_first: bool) -> EventReports:
        reports, total = await self._page(_only(query, "event"), offset, limit, newest_first)
        names = await self._room_names(reports)
        return EventReports([_event_item(r, names) for r in reports], total,
                            _next_token(offset, limit, len(reports), total))

    async def event_report(self, report_id: int) -> EventReport:
        """One event report with the reported event in federation format; like Synapse,
        not found once the event itself is gone."""
        report = await self._storage.reports.get(report_id)
        if report is None or report.kind != "event" or report.event_id is None:
            raise errors.not_found(EVENT_REPORT_NOT_FOUND)
        event = await self._storage.events.get(report.event_id)
        if event is None:
            raise errors.not_found(EVENT_REPORT_NOT_FOUND)
        item = _event_item(report, await self._room_names([report]))
        item.event_json = _event_json(event)
        return item

    # -- Synapse: user reports ---------------------------------------------------------

    async def user_reports(self, query: ReportQuery, offset: int, limit: int,
                           newest_first: bool) -> UserReports:
        reports, total = await self._page(_only(query, "user"), offset, limit, newest_first)
        return UserReports([_user_item(r) for r in reports], total,
                           _next_token(offset, limit, len(reports), total))

    async def user_report(self, report_id: int) -> UserReport:
        report = await self._storage.reports.get(report_id)
        if report is None or report.kind != "user":
            raise errors.not_found(USER_REPORT_NOT_FOUND)
        return _user_item(report)

    # -- Glia: every kind --------------------------------------------------------------

    async def reports(self, query: ReportQuery, offset: int, limit: int,
                      newest_first: bool) -> Reports:
        """``kind`` (event, room or user) narrows the list; without it, every report."""
        if query.kind is not None and query.kind not in KINDS:
            raise errors.invalid_param(f"Query parameter 'kind' must be one of {list(KINDS)}")
        reports, total = await self._page(query, offset, limit, newest_first)
        names = await self._room_names(reports)
        return Reports([_any_item(r, names) for r in reports], total,
                       _next_token(offset, limit, len(reports), total))

    async def report(self, report_id: int) -> AnyReport:
        """Any report; an event report carries ``event_json`` (null once the event is
        gone, where Synapse's endpoint answers 404)."""
        report = await self._storage.reports.get(report_id)
        if report is None:
            raise errors.not_found(REPORT_NOT_FOUND)
        item = _any_item(report, await self._room_names([report]))
        if isinstance(item, EventReport) and report.event_id is not None:
            event = await self._storage.events.get(report.event_id)
            item.event_json = None if event is None else _event_json(event)
        return item

    # -- dismissing --------------------------------------------------------------------

    async def delete(self, uow: UnitOfWork, report_id: int, kind: str | None) -> None:
        """Remove a report (only of ``kind``, if given) with its audit row."""
        async with uow.transaction() as tx:
            deleted = await tx.reports.delete(report_id, kind)
            if not deleted:
                raise errors.not_found({"event": EVENT_REPORT_NOT_FOUND,
                                        "user": USER_REPORT_NOT_FOUND}.get(kind or "",
                                                                           REPORT_NOT_FOUND))


def _only(query: ReportQuery, kind: str) -> ReportQuery:
    return ReportQuery(kind=kind, user_id=query.user_id, room_id=query.room_id,
                       event_sender=query.event_sender,
                       reported_user_id=query.reported_user_id)


def _event_json(event: StoredEvent) -> dict[str, Any]:
    """The reported event as Synapse stores it: federation format with ``unsigned``."""
    return {**event.pdu, "unsigned": dict(event.unsigned)}
