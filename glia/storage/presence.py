"""Presence: each user's last state, when they were last active and last synced."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from glia.storage.engine import Executor


@dataclass(frozen=True)
class Presence:
    user_id: str
    state: str
    status_msg: str | None
    last_active_ts: int
    last_sync_ts: int
    stream: int


_COLUMNS = "user_id, state, status_msg, last_active_ts, last_sync_ts, stream"
_BATCH = 500


class PresenceStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def get(self, user_id: str) -> Presence | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM presence WHERE user_id = ?", user_id)
        return None if row is None else Presence(**row)

    async def put(self, p: Presence) -> None:
        await self._db.execute(
            f"INSERT INTO presence ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET state = excluded.state,"
            " status_msg = excluded.status_msg, last_active_ts = excluded.last_active_ts,"
            " last_sync_ts = excluded.last_sync_ts, stream = excluded.stream",
            p.user_id, p.state, p.status_msg, p.last_active_ts, p.last_sync_ts, p.stream)

    async def touch_sync(self, user_id: str, now: int) -> None:
        """Record a sync without a state change (no new stream position)."""
        await self._db.execute(
            "UPDATE presence SET last_sync_ts = ? WHERE user_id = ?", now, user_id)

    async def changed_in_rooms(self, room_ids: list[str], since: int | None, upto: int
                               ) -> list[Presence]:
        """Presence of the members of these rooms that changed in (since, upto]."""
        if not room_ids:
            return []
        marks = ", ".join("?" for _ in room_ids)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM presence WHERE stream > ? AND stream <= ? AND user_id IN"
            " (SELECT state_key FROM room_state WHERE type = 'm.room.member'"
            f" AND to_stream IS NULL AND membership = 'join' AND room_id IN ({marks}))",
            since if since is not None else -1, upto, *room_ids)
        return [Presence(**r) for r in rows]

    async def of_users(self, user_ids: Sequence[str], since: int | None = None,
                       upto: int | None = None) -> list[Presence]:
        """Presence of these users (only what changed in (since, upto] when given), a
        few hundred IDs per query however many are asked (the members of a big room)."""
        out: list[Presence] = []
        for at in range(0, len(user_ids), _BATCH):
            batch = user_ids[at:at + _BATCH]
            marks = ", ".join("?" for _ in batch)
            rows = await self._db.fetchall(
                f"SELECT {_COLUMNS} FROM presence WHERE user_id IN ({marks})"
                " AND stream > ? AND stream <= ?", *batch,
                since if since is not None else -1, upto if upto is not None else 2**62)
            out += [Presence(**r) for r in rows]
        return out

    async def stale_online(self, before_ts: int) -> list[Presence]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM presence WHERE state IN ('online', 'unavailable')"
            " AND last_sync_ts < ? AND last_active_ts < ?", before_ts, before_ts)
        return [Presence(**r) for r in rows]

    async def online_of_server(self, server_name: str, after: str, limit: int
                               ) -> list[Presence]:
        """Users of ``server_name`` online or unavailable, by user ID after ``after``
        (a page of ``limit``). Server names hold no ``%`` or ``_`` (letters, digits,
        ``-``, ``.``, ``:``, brackets), so the pattern needs no escaping."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM presence WHERE state IN ('online', 'unavailable')"
            " AND user_id LIKE ? AND user_id > ? ORDER BY user_id LIMIT ?",
            "%:" + server_name, after, limit)
        return [Presence(**r) for r in rows]
