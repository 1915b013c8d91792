"""Typing notifications, shared by every process through the database."""

from __future__ import annotations

from glia.storage.engine import Executor


class TypingStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def start(self, room_id: str, user_id: str, expires_ts: int, stream: int) -> None:
        await self._db.execute(
            "INSERT INTO typing (room_id, user_id, expires_ts) VALUES (?, ?, ?)"
            " ON CONFLICT (room_id, user_id) DO UPDATE SET expires_ts = excluded.expires_ts",
            room_id, user_id, expires_ts)
        await self._bump(room_id, stream)

    async def stop(self, room_id: str, user_id: str, stream: int) -> bool:
        """Returns whether the user was typing (else nothing changed)."""
        if not await self._db.execute(
                "DELETE FROM typing WHERE room_id = ? AND user_id = ?", room_id, user_id):
            return False
        await self._bump(room_id, stream)
        return True

    async def _bump(self, room_id: str, stream: int) -> None:
        await self._db.execute(
            "INSERT INTO typing_rooms (room_id, stream) VALUES (?, ?)"
            " ON CONFLICT (room_id) DO UPDATE SET stream = excluded.stream", room_id, stream)

    async def expired(self, now: int) -> list[tuple[str, str]]:
        rows = await self._db.fetchall(
            "SELECT room_id, user_id FROM typing WHERE expires_ts <= ?", now)
        return [(r["room_id"], r["user_id"]) for r in rows]

    async def changed_rooms(self, room_ids: list[str], since: int | None, upto: int
                            ) -> list[str]:
        if not room_ids:
            return []
        marks = ", ".join("?" for _ in room_ids)
        rows = await self._db.fetchall(
            f"SELECT room_id FROM typing_rooms WHERE room_id IN ({marks})"
            " AND stream > ? AND stream <= ?", *room_ids,
            since if since is not None else -1, upto)
        return [r["room_id"] for r in rows]

    async def typing_in(self, room_id: str, now: int) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT user_id FROM typing WHERE room_id = ? AND expires_ts > ?"
            " ORDER BY user_id", room_id, now)
        return [r["user_id"] for r in rows]
