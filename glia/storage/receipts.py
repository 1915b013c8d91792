"""Read receipts: the latest of each kind per user, room and thread."""

from __future__ import annotations

from dataclasses import dataclass

from glia.storage.engine import Executor

UNTHREADED = ""


@dataclass(frozen=True)
class Receipt:
    room_id: str
    receipt_type: str
    user_id: str
    thread_id: str
    event_id: str
    ts: int
    stream: int


class ReceiptStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def put(self, receipt: Receipt) -> None:
        await self._db.execute(
            "INSERT INTO receipts (room_id, receipt_type, user_id, thread_id, event_id, ts,"
            " stream) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (room_id, receipt_type, user_id, thread_id) DO UPDATE SET"
            " event_id = excluded.event_id, ts = excluded.ts, stream = excluded.stream",
            receipt.room_id, receipt.receipt_type, receipt.user_id, receipt.thread_id,
            receipt.event_id, receipt.ts, receipt.stream)

    async def get(self, room_id: str, receipt_type: str, user_id: str, thread_id: str
                  ) -> Receipt | None:
        row = await self._db.fetchone(
            "SELECT room_id, receipt_type, user_id, thread_id, event_id, ts, stream"
            " FROM receipts WHERE room_id = ? AND receipt_type = ? AND user_id = ?"
            " AND thread_id = ?", room_id, receipt_type, user_id, thread_id)
        return None if row is None else Receipt(**row)

    async def in_rooms(self, room_ids: list[str], since: int | None, upto: int
                       ) -> list[Receipt]:
        """Receipts in these rooms that changed in (since, upto] (all when ``since`` is
        None)."""
        if not room_ids:
            return []
        marks = ", ".join("?" for _ in room_ids)
        rows = await self._db.fetchall(
            "SELECT room_id, receipt_type, user_id, thread_id, event_id, ts, stream"
            f" FROM receipts WHERE room_id IN ({marks}) AND stream > ? AND stream <= ?"
            " ORDER BY stream", *room_ids, since if since is not None else -1, upto)
        return [Receipt(**r) for r in rows]
