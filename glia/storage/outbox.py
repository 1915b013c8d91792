"""The event outbox (table ``event_outbox``): which committed events still await their
after-commit subscribers. See ``services/event_fanout.py`` for how it is used."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from glia.storage.engine import Executor

#: Keeps ``IN (...)`` lists well under both engines' parameter limits.
_CHUNK = 500


@dataclass(frozen=True)
class OutboxEntry:
    stream_ordering: int
    event_id: str
    #: How often a retry claimed it (the writer's own fan-out not counted).
    attempts: int
    #: The subscribers still to run, or None for all of them.
    pending: tuple[str, ...] | None


class OutboxStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def add(self, events: Sequence[tuple[int, str]], due_ts: int) -> None:
        """One row per (stream_ordering, event_id), claimed by the writer until ``due_ts``."""
        if events:
            await self._db.executemany(
                "INSERT INTO event_outbox (stream_ordering, event_id, due_ts) VALUES (?, ?, ?)",
                [(stream, event_id, due_ts) for stream, event_id in events])

    async def remove(self, streams: Sequence[int]) -> None:
        """Every subscriber handled these events."""
        for i in range(0, len(streams), _CHUNK):
            chunk = streams[i:i + _CHUNK]
            await self._db.execute(
                "DELETE FROM event_outbox WHERE stream_ordering IN"
                f" ({', '.join('?' for _ in chunk)})", *chunk)

    async def retry_later(self, streams: Sequence[int], pending: Sequence[str],
                          due_ts: int) -> None:
        """Only ``pending`` subscribers are left to run these events, from ``due_ts`` on."""
        names = msgspec.json.encode(sorted(pending)).decode()
        for i in range(0, len(streams), _CHUNK):
            chunk = streams[i:i + _CHUNK]
            await self._db.execute(
                "UPDATE event_outbox SET pending = ?, due_ts = ? WHERE stream_ordering IN"
                f" ({', '.join('?' for _ in chunk)})", names, due_ts, *chunk)

    async def claim_due(self, now: int, lease_until: int, limit: int) -> list[OutboxEntry]:
        """Claim up to ``limit`` due rows, oldest events first, until ``lease_until``. The
        outer ``due_ts <= ?`` is checked again on rows another process claimed meanwhile
        (PostgreSQL re-reads a row it waited for), so no row is claimed twice."""
        rows = await self._db.fetchall(
            "UPDATE event_outbox SET due_ts = ?, attempts = attempts + 1"
            " WHERE due_ts <= ? AND stream_ordering IN (SELECT stream_ordering"
            " FROM event_outbox WHERE due_ts <= ? ORDER BY stream_ordering LIMIT ?)"
            " RETURNING stream_ordering, event_id, attempts, pending",
            lease_until, now, now, limit)
        out = [OutboxEntry(int(r["stream_ordering"]), r["event_id"], int(r["attempts"]),
                           None if r["pending"] is None
                           else tuple(msgspec.json.decode(r["pending"])))
               for r in rows]
        out.sort(key=lambda e: e.stream_ordering)
        return out

    async def waiting(self) -> int:
        """How many events still await a subscriber (for operators and tests)."""
        return int(await self._db.fetchval("SELECT COUNT(*) FROM event_outbox"))
