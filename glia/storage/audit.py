"""The admin audit log: append-only rows, listed newest or oldest first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor, Row


@dataclass(frozen=True)
class AuditRow:
    audit_id: int
    ts: int
    actor: str
    action: str
    target: str | None
    params: dict[str, Any]
    outcome: str
    status: int | None


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since_ts: int | None = None
    until_ts: int | None = None


def _row(row: Row) -> AuditRow:
    return AuditRow(int(row["audit_id"]), int(row["ts"]), row["actor"], row["action"],
                    row["target"], json.loads(row["params"]), row["outcome"],
                    None if row["status"] is None else int(row["status"]))


class AuditStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def insert(self, audit_id: int, ts: int, actor: str, action: str,
                     target: str | None, params: dict[str, Any], outcome: str,
                     status: int | None) -> None:
        await self._db.execute(
            "INSERT INTO audit_log (audit_id, ts, actor, action, target, params, outcome,"
            " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", audit_id, ts, actor, action, target,
            json.dumps(params, ensure_ascii=False, separators=(",", ":")), outcome, status,
        )

    @staticmethod
    def _where(query: AuditQuery) -> tuple[str, list[Any]]:
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        for column, value in (("actor", query.actor), ("action", query.action),
                              ("target", query.target)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if query.since_ts is not None:
            where.append("ts >= ?")
            args.append(query.since_ts)
        if query.until_ts is not None:
            where.append("ts <= ?")
            args.append(query.until_ts)
        return " AND ".join(where), args

    async def page(self, query: AuditQuery, *, offset: int, limit: int,
                   newest_first: bool) -> tuple[list[AuditRow], int]:
        where, args = self._where(query)
        total = await self._db.fetchval(f"SELECT COUNT(*) FROM audit_log WHERE {where}", *args)
        rows = await self._db.fetchall(
            f"SELECT * FROM audit_log WHERE {where} ORDER BY audit_id"
            f" {'DESC' if newest_first else 'ASC'} LIMIT ? OFFSET ?", *args, limit, offset,
        )
        return [_row(r) for r in rows], int(total or 0)
