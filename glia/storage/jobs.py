"""Durable admin jobs: claimed by one worker at a time, reclaimed when it stops
heartbeating, so a job survives a crash of the process running it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor, Row

ACTIVE = "active"
SCHEDULED = "scheduled"
COMPLETE = "complete"
FAILED = "failed"
CANCELLED = "cancelled"
FINISHED = (COMPLETE, FAILED, CANCELLED)


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: str
    params: dict[str, Any]
    status: str
    done: int
    total: int | None
    result: dict[str, Any] | None
    error: str | None
    started_by: str
    created_ts: int
    started_ts: int | None
    finished_ts: int | None
    target: str | None


def _job(row: Row) -> Job:
    return Job(
        job_id=row["job_id"], kind=row["kind"], params=json.loads(row["params"]),
        status=row["status"], done=int(row["done"]),
        total=None if row["total"] is None else int(row["total"]),
        result=None if row["result"] is None else json.loads(row["result"]),
        error=row["error"], started_by=row["started_by"], created_ts=int(row["created_ts"]),
        started_ts=None if row["started_ts"] is None else int(row["started_ts"]),
        finished_ts=None if row["finished_ts"] is None else int(row["finished_ts"]),
        target=row["target"],
    )


_COLUMNS = ("job_id, kind, params, status, done, total, result, error, started_by, created_ts,"
            " started_ts, finished_ts, target")


class JobStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def insert(self, job_id: str, kind: str, params: dict[str, Any], started_by: str,
                     now: int, target: str | None) -> None:
        await self._db.execute(
            "INSERT INTO jobs (job_id, kind, params, status, started_by, created_ts, target)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", job_id, kind,
            json.dumps(params, separators=(",", ":")), SCHEDULED, started_by, now, target,
        )

    async def get(self, job_id: str) -> Job | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?", job_id)
        return None if row is None else _job(row)

    async def page(self, *, kind: str | None, status: str | None, target: str | None,
                   offset: int, limit: int) -> tuple[list[Job], int]:
        where, args = ["1 = 1"], []
        for column, value in (("kind", kind), ("status", status), ("target", target)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        clause = " AND ".join(where)
        total = await self._db.fetchval(f"SELECT COUNT(*) FROM jobs WHERE {clause}", *args)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM jobs WHERE {clause} ORDER BY created_ts DESC, job_id"
            " LIMIT ? OFFSET ?", *args, limit, offset)
        return [_job(r) for r in rows], int(total or 0)

    async def claim(self, claim: str, now: int, stale_before: int) -> Job | None:
        """Take the oldest scheduled job, or an active one whose worker went silent.

        ``claim`` names this one claim (worker and attempt), so the worker it was taken
        from finds its claim gone at its next heartbeat and stops."""
        for _ in range(3):
            row = await self._db.fetchone(
                f"SELECT {_COLUMNS} FROM jobs WHERE status = ?"
                " OR (status = ? AND (heartbeat_ts IS NULL OR heartbeat_ts < ?))"
                " ORDER BY created_ts, job_id LIMIT 1", SCHEDULED, ACTIVE, stale_before)
            if row is None:
                return None
            # Compare-and-set on what we read, so two workers cannot both win.
            taken = await self._db.execute(
                "UPDATE jobs SET status = ?, claimed_by = ?, heartbeat_ts = ?,"
                " started_ts = COALESCE(started_ts, ?), done = 0 WHERE job_id = ?"
                " AND status = ? AND (heartbeat_ts IS NULL OR heartbeat_ts < ?"
                " OR status = ?)", ACTIVE, claim, now, now, row["job_id"], row["status"],
                stale_before, SCHEDULED)
            if taken == 1:
                return await self.get(row["job_id"])
        return None

    async def heartbeat(self, job_id: str, claim: str, now: int, done: int,
                        total: int | None) -> bool:
        """Record progress under ``claim``; False when the job is no longer ours to run
        (cancelled, or reclaimed by another worker)."""
        changed = await self._db.execute(
            "UPDATE jobs SET heartbeat_ts = ?, done = ?, total = COALESCE(?, total)"
            " WHERE job_id = ? AND claimed_by = ? AND status = ?",
            now, done, total, job_id, claim, ACTIVE)
        return changed == 1

    async def status(self, job_id: str) -> str | None:
        value = await self._db.fetchval("SELECT status FROM jobs WHERE job_id = ?", job_id)
        return None if value is None else str(value)

    async def save_result(self, job_id: str, claim: str, result: dict[str, Any]) -> bool:
        """A running job's partial result (small: counters, a cursor, IDs it created):
        what a restart resumes from, and what status endpoints show while it runs."""
        changed = await self._db.execute(
            "UPDATE jobs SET result = ? WHERE job_id = ? AND claimed_by = ? AND status = ?",
            json.dumps(result, separators=(",", ":")), job_id, claim, ACTIVE)
        return changed == 1

    async def set_items(self, job_id: str, claim: str, items: list[tuple[str, str]]) -> bool:
        """Record the outcome of each (item, outcome) under ``claim``: one row per item,
        so the cost does not grow with what the job already did."""
        for item, outcome in items:
            # Only while the claim holds, checked in the same statement as the write.
            changed = await self._db.execute(
                "INSERT INTO job_items (job_id, item, outcome) SELECT ?, ?, ?"
                " WHERE EXISTS (SELECT 1 FROM jobs WHERE job_id = ? AND claimed_by = ?"
                " AND status = ?)"
                " ON CONFLICT (job_id, item) DO UPDATE SET outcome = excluded.outcome",
                job_id, item, outcome, job_id, claim, ACTIVE)
            if changed != 1:
                return False
        return True

    async def items(self, job_id: str) -> dict[str, str]:
        """Every item the job recorded, with its outcome."""
        rows = await self._db.fetchall(
            "SELECT item, outcome FROM job_items WHERE job_id = ? ORDER BY item", job_id)
        return {row["item"]: row["outcome"] for row in rows}

    async def finish(self, job_id: str, claim: str, status: str, now: int,
                     result: dict[str, Any] | None, error: str | None) -> bool:
        changed = await self._db.execute(
            "UPDATE jobs SET status = ?, finished_ts = ?, result = ?, error = ?"
            " WHERE job_id = ? AND claimed_by = ? AND status = ?", status, now,
            None if result is None else json.dumps(result, separators=(",", ":")), error,
            job_id, claim, ACTIVE)
        if changed == 1:
            await self._db.execute("DELETE FROM job_items WHERE job_id = ?", job_id)
        return changed == 1

    async def cancel(self, job_id: str, now: int) -> bool:
        changed = await self._db.execute(
            "UPDATE jobs SET status = ?, finished_ts = ? WHERE job_id = ?"
            " AND status IN (?, ?)", CANCELLED, now, job_id, SCHEDULED, ACTIVE)
        if changed == 1:
            await self._db.execute("DELETE FROM job_items WHERE job_id = ?", job_id)
        return changed == 1
