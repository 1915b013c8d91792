"""The send-to-device inbox: messages waiting for one device, in stream order, deleted once
the device's next ``/sync`` shows it received them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor


@dataclass(frozen=True)
class ToDeviceMessage:
    stream: int
    sender: str
    type: str
    content: dict[str, Any]


class ToDeviceStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def claim_txn(self, user_id: str, device_id: str, txn_id: str, now: int,
                        keep_ms: int) -> bool:
        """Record a sender's transaction ID; False if it was already handled. Old IDs of the
        same device are dropped here, so the table stays small without a sweeper."""
        await self._db.execute(
            "DELETE FROM device_inbox_txns WHERE user_id = ? AND device_id = ? AND ts < ?",
            user_id, device_id, now - keep_ms)
        inserted = await self._db.fetchval(
            "INSERT INTO device_inbox_txns (user_id, device_id, txn_id, ts)"
            " SELECT user_id, device_id, CAST(? AS TEXT), CAST(? AS BIGINT) FROM devices"
            " WHERE user_id = ? AND device_id = ? ON CONFLICT DO NOTHING RETURNING txn_id",
            txn_id, now, user_id, device_id)
        return inserted is not None

    async def device_ids(self, user_id: str) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT device_id FROM devices WHERE user_id = ? ORDER BY device_id", user_id)
        return [r["device_id"] for r in rows]

    async def add(self, stream: int, sender: str, event_type: str,
                  messages: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
        """Queue (user_id, device_id, content) messages; devices that no longer exist are
        skipped. Returns how many were queued."""
        queued = 0
        for user_id, device_id, content in messages:
            queued += await self._db.execute(
                "INSERT INTO device_inbox (user_id, device_id, stream, sender, type, content)"
                " SELECT user_id, device_id, CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT),"
                " CAST(? AS TEXT) FROM devices WHERE user_id = ? AND device_id = ?",
                stream, sender, event_type, json.dumps(content, ensure_ascii=False),
                user_id, device_id)
        return queued

    async def pending(self, user_id: str, device_id: str, upto: int,
                      limit: int) -> list[ToDeviceMessage]:
        rows = await self._db.fetchall(
            "SELECT stream, sender, type, content FROM device_inbox WHERE user_id = ?"
            " AND device_id = ? AND stream <= ? ORDER BY stream LIMIT ?",
            user_id, device_id, upto, limit)
        return [ToDeviceMessage(int(r["stream"]), r["sender"], r["type"],
                                json.loads(r["content"])) for r in rows]

    async def record_delivered(self, user_id: str, device_id: str, upto: int,
                               delivered: int) -> None:
        """A sync answering up to ``upto`` delivered only up to ``delivered``."""
        await self._db.execute(
            "INSERT INTO device_inbox_delivered (user_id, device_id, upto, delivered)"
            " SELECT user_id, device_id, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM devices"
            " WHERE user_id = ? AND device_id = ? ON CONFLICT (user_id, device_id, upto)"
            " DO UPDATE SET delivered = excluded.delivered", upto, delivered, user_id, device_id)

    async def delivered_upto(self, user_id: str, device_id: str, upto: int) -> int | None:
        value = await self._db.fetchval(
            "SELECT delivered FROM device_inbox_delivered WHERE user_id = ? AND device_id = ?"
            " AND upto = ?", user_id, device_id, upto)
        return None if value is None else int(value)

    async def has_acknowledgeable(self, user_id: str, device_id: str, stream: int,
                                  upto: int) -> bool:
        """Whether :meth:`acknowledge` with these arguments would delete anything."""
        found = await self._db.fetchval(
            "SELECT 1 FROM device_inbox WHERE user_id = ? AND device_id = ? AND stream <= ?"
            " UNION ALL SELECT 1 FROM device_inbox_delivered WHERE user_id = ?"
            " AND device_id = ? AND upto < ? LIMIT 1",
            user_id, device_id, stream, user_id, device_id, upto)
        return found is not None

    async def acknowledge(self, user_id: str, device_id: str, stream: int, upto: int) -> None:
        """Delete messages up to ``stream``, and the partial-delivery marks of syncs older
        than ``upto`` (the one for ``upto`` stays: the client may retry with it)."""
        await self._db.execute(
            "DELETE FROM device_inbox WHERE user_id = ? AND device_id = ? AND stream <= ?",
            user_id, device_id, stream)
        await self._db.execute(
            "DELETE FROM device_inbox_delivered WHERE user_id = ? AND device_id = ?"
            " AND upto < ?", user_id, device_id, upto)
