"""Which resident server accepted each of our users' knocks on rooms we are not in."""

from __future__ import annotations

from glia.storage.engine import Executor


class FederationKnockStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def put(self, room_id: str, user_id: str, server_name: str, now: int) -> None:
        await self._db.execute(
            "INSERT INTO federation_knocks (room_id, user_id, server_name, knocked_ts)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (room_id, user_id) DO UPDATE SET"
            " server_name = excluded.server_name, knocked_ts = excluded.knocked_ts",
            room_id, user_id, server_name, now)

    async def server_of(self, room_id: str, user_id: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT server_name FROM federation_knocks WHERE room_id = ? AND user_id = ?",
            room_id, user_id)
        return None if value is None else str(value)

    async def delete(self, room_id: str, user_id: str) -> None:
        await self._db.execute(
            "DELETE FROM federation_knocks WHERE room_id = ? AND user_id = ?",
            room_id, user_id)
