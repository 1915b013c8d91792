"""Reports users sent to the server admins, about an event, a room or a user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor, Row

KINDS = ("event", "room", "user")


@dataclass(frozen=True)
class Report:
    report_id: int
    kind: str
    received_ts: int
    #: The reporter.
    user_id: str
    room_id: str | None
    event_id: str | None
    #: Sender of the reported event, as known when the report arrived.
    event_sender: str | None
    reported_user_id: str | None
    reason: str | None
    score: int | None


@dataclass(frozen=True)
class ReportQuery:
    """List filters; the ID filters other than ``event_sender`` match substrings."""

    kind: str | None = None
    user_id: str | None = None
    room_id: str | None = None
    event_sender: str | None = None
    reported_user_id: str | None = None


_COLUMNS = ("report_id, kind, received_ts, user_id, room_id, event_id, event_sender,"
            " reported_user_id, reason, score")


def _report(row: Row) -> Report:
    return Report(int(row["report_id"]), row["kind"], int(row["received_ts"]), row["user_id"],
                  row["room_id"], row["event_id"], row["event_sender"],
                  row["reported_user_id"], row["reason"],
                  None if row["score"] is None else int(row["score"]))


def _contains(value: str) -> str:
    """A LIKE pattern matching ``value`` anywhere, with its wildcards taken literally."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ReportStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def insert(self, report_id: int, kind: str, received_ts: int, user_id: str, *,
                     room_id: str | None = None, event_id: str | None = None,
                     event_sender: str | None = None, reported_user_id: str | None = None,
                     reason: str | None = None, score: int | None = None) -> None:
        await self._db.execute(
            f"INSERT INTO event_reports ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            report_id, kind, received_ts, user_id, room_id, event_id, event_sender,
            reported_user_id, reason, score,
        )

    async def get(self, report_id: int) -> Report | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM event_reports WHERE report_id = ?", report_id)
        return None if row is None else _report(row)

    async def delete(self, report_id: int, kind: str | None = None) -> bool:
        """Remove one report (of ``kind``, if given); False when there was none."""
        if kind is None:
            changed = await self._db.execute(
                "DELETE FROM event_reports WHERE report_id = ?", report_id)
        else:
            changed = await self._db.execute(
                "DELETE FROM event_reports WHERE report_id = ? AND kind = ?", report_id, kind)
        return changed > 0

    @staticmethod
    def _where(query: ReportQuery) -> tuple[str, list[Any]]:
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if query.kind is not None:
            where.append("kind = ?")
            args.append(query.kind)
        if query.event_sender is not None:
            where.append("event_sender = ?")
            args.append(query.event_sender)
        # LOWER on both sides: SQLite's LIKE ignores ASCII case and PostgreSQL's does not,
        # so this keeps the two engines answering alike.
        for column, value in (("user_id", query.user_id), ("room_id", query.room_id),
                              ("reported_user_id", query.reported_user_id)):
            if value is not None:
                where.append(f"LOWER({column}) LIKE LOWER(?) ESCAPE '\\'")
                args.append(_contains(value))
        return " AND ".join(where), args

    async def page(self, query: ReportQuery, *, offset: int, limit: int,
                   newest_first: bool) -> tuple[list[Report], int]:
        """One page in report order (ids grow with arrival) and the matching total."""
        where, args = self._where(query)
        total = await self._db.fetchval(
            f"SELECT COUNT(*) FROM event_reports WHERE {where}", *args)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM event_reports WHERE {where} ORDER BY report_id"
            f" {'DESC' if newest_first else 'ASC'} LIMIT ? OFFSET ?", *args, limit, offset,
        )
        return [_report(r) for r in rows], int(total or 0)
