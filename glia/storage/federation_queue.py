"""The outbound federation queue (PDUs per destination), inbound transaction answers,
soft-failed received events and outliers (auth events fetched from other servers)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor


@dataclass(frozen=True)
class QueuedPdu:
    stream_ordering: int
    event_id: str


@dataclass(frozen=True)
class QueueError:
    error: str
    error_ts: int


class FederationQueueStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def add(self, destinations: list[str], stream_ordering: int, event_id: str,
                  now: int) -> None:
        for destination in destinations:
            await self._db.execute(
                "INSERT INTO federation_queue (destination, stream_ordering, event_id,"
                " queued_ts) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                destination, stream_ordering, event_id, now)

    async def next_batch(self, destination: str, limit: int) -> list[QueuedPdu]:
        rows = await self._db.fetchall(
            "SELECT stream_ordering, event_id FROM federation_queue WHERE destination = ?"
            " ORDER BY stream_ordering LIMIT ?", destination, limit)
        return [QueuedPdu(int(r["stream_ordering"]), r["event_id"]) for r in rows]

    async def remove(self, destination: str, sent: list[QueuedPdu]) -> None:
        """Remove exactly the rows a transaction carried: not a range up to the last,
        since another process may queue a row below it (its event got its stream
        position first but committed later) after the batch was read."""
        if not sent:
            return
        marks = ", ".join("?" for _ in sent)
        await self._db.execute(
            f"DELETE FROM federation_queue WHERE destination = ?"
            f" AND stream_ordering IN ({marks})",
            destination, *(q.stream_ordering for q in sent))

    async def destinations(self) -> list[str]:
        rows = await self._db.fetchall("SELECT DISTINCT destination FROM federation_queue")
        return [r["destination"] for r in rows]

    async def length(self, destination: str) -> int:
        return int(await self._db.fetchval(
            "SELECT COUNT(*) FROM federation_queue WHERE destination = ?", destination))

    async def set_error(self, destination: str, error: str | None, now: int) -> None:
        if error is None:
            await self._db.execute(
                "DELETE FROM federation_queue_errors WHERE destination = ?", destination)
            return
        await self._db.execute(
            "INSERT INTO federation_queue_errors (destination, error, error_ts)"
            " VALUES (?, ?, ?) ON CONFLICT (destination) DO UPDATE SET"
            " error = excluded.error, error_ts = excluded.error_ts",
            destination, error[:1000], now)

    async def last_error(self, destination: str) -> QueueError | None:
        row = await self._db.fetchone(
            "SELECT error, error_ts FROM federation_queue_errors WHERE destination = ?",
            destination)
        return None if row is None else QueueError(row["error"], int(row["error_ts"]))

    # -- inbound transactions -----------------------------------------------------------

    async def inbound_response(self, origin: str, txn_id: str) -> dict[str, Any] | None:
        row = await self._db.fetchone(
            "SELECT response FROM federation_inbound_txns WHERE origin = ? AND txn_id = ?",
            origin, txn_id)
        return None if row is None else dict(json.loads(row["response"]))

    async def put_inbound_response(self, origin: str, txn_id: str,
                                   response: dict[str, Any], now: int) -> None:
        await self._db.execute(
            "INSERT INTO federation_inbound_txns (origin, txn_id, response, received_ts)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            origin, txn_id, json.dumps(response, separators=(",", ":")), now)

    # -- soft-failed events -------------------------------------------------------------

    async def add_soft_failed(self, event_id: str, room_id: str, origin: str,
                              pdu: dict[str, Any], reason: str, now: int) -> None:
        await self._db.execute(
            "INSERT INTO federation_soft_failed (event_id, room_id, origin, pdu, reason,"
            " received_ts) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            event_id, room_id, origin, json.dumps(pdu, ensure_ascii=False), reason, now)

    async def is_soft_failed(self, event_id: str) -> bool:
        return await self._db.fetchval(
            "SELECT 1 FROM federation_soft_failed WHERE event_id = ?", event_id) is not None

    async def soft_failed(self, room_id: str, event_ids: list[str]
                          ) -> dict[str, dict[str, Any]]:
        """The room's soft-failed events among ``event_ids``, by ID."""
        return await self._pdus("federation_soft_failed", room_id, event_ids)

    # -- outliers -----------------------------------------------------------------------

    async def add_outlier(self, event_id: str, room_id: str, origin: str,
                          pdu: dict[str, Any], now: int) -> None:
        await self._db.execute(
            "INSERT INTO federation_outliers (event_id, room_id, origin, pdu, received_ts)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            event_id, room_id, origin, json.dumps(pdu, ensure_ascii=False), now)

    async def outliers(self, room_id: str, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The room's outliers among ``event_ids``, by ID."""
        return await self._pdus("federation_outliers", room_id, event_ids)

    async def _pdus(self, table: str, room_id: str, event_ids: list[str]
                    ) -> dict[str, dict[str, Any]]:
        """The PDUs of ``table`` (soft-failed events or outliers) of the room among
        ``event_ids``, by ID."""
        if not event_ids:
            return {}
        marks = ", ".join("?" for _ in event_ids)
        rows = await self._db.fetchall(
            f"SELECT event_id, pdu FROM {table} WHERE room_id = ?"
            f" AND event_id IN ({marks})", room_id, *event_ids)
        return {r["event_id"]: json.loads(r["pdu"]) for r in rows}
