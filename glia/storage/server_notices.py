"""Server notices: each user's notices room, and idempotent sends."""

from __future__ import annotations

from glia.storage.engine import Executor


class ServerNoticeStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def room_of(self, user_id: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT room_id FROM server_notice_rooms WHERE user_id = ?", user_id)
        return None if value is None else str(value)

    async def set_room(self, user_id: str, room_id: str) -> None:
        await self._db.execute(
            "INSERT INTO server_notice_rooms (user_id, room_id) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET room_id = excluded.room_id",
            user_id, room_id)

    async def sent(self, token_hash: str, txn_id: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT event_id FROM server_notice_txns WHERE token_hash = ? AND txn_id = ?",
            token_hash, txn_id)
        return None if value is None else str(value)

    async def record_sent(self, token_hash: str, txn_id: str, event_id: str) -> None:
        await self._db.execute(
            "INSERT INTO server_notice_txns (token_hash, txn_id, event_id) VALUES (?, ?, ?)"
            " ON CONFLICT (token_hash, txn_id) DO NOTHING", token_hash, txn_id, event_id)
