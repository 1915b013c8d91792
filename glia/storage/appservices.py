"""Application services' queues and delivery state (tables ``appservice_queue``,
``appservice_state``, ``appservice_room_list``; ``users.appservice_id``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from glia.storage.engine import Executor


@dataclass(frozen=True)
class QueuedItem:
    """Something owed to a service: ``kind`` is ``event``, ``ephemeral``, ``to_device``
    or ``device_lists``; ``content`` its JSON."""

    as_id: str
    kind: str
    content: dict[str, Any]
    #: For events, their stream position (one delivery per event and service).
    stream_ordering: int | None = None


@dataclass(frozen=True)
class OpenTransaction:
    txn_id: int
    items: list[QueuedItem]


@dataclass(frozen=True)
class DeliveryState:
    as_id: str
    paused: bool
    last_success_ts: int | None
    failing_since_ts: int | None
    last_error: str | None
    next_attempt_ts: int
    attempts: int
    #: Items queued and not yet accepted by the service.
    backlog: int


class AppServiceStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def set_user_service(self, user_id: str, as_id: str) -> None:
        """The user was registered by (and belongs to) this application service."""
        await self._db.execute("UPDATE users SET appservice_id = ? WHERE user_id = ?",
                               as_id, user_id)

    async def user_service(self, user_id: str) -> str | None:
        return await self._db.fetchval(  # type: ignore[no-any-return]
            "SELECT appservice_id FROM users WHERE user_id = ?", user_id)

    async def ensure_state(self, as_id: str) -> None:
        await self._db.execute(
            "INSERT INTO appservice_state (as_id) VALUES (?) ON CONFLICT DO NOTHING", as_id)

    async def enqueue(self, rows: Sequence[tuple[int, QueuedItem]]) -> None:
        """Append (position, item) rows; an event already queued for a service is
        skipped (the fan-out may hand it over twice)."""
        if rows:
            await self._db.executemany(
                "INSERT INTO appservice_queue (position, as_id, kind, stream_ordering,"
                " content) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(pos, i.as_id, i.kind, i.stream_ordering,
                  msgspec.json.encode(i.content).decode()) for pos, i in rows])

    async def open_transaction(self, as_id: str, limit: int) -> OpenTransaction | None:
        """The service's transaction in flight, or a new one made of its oldest queued
        items (None: nothing is owed). Call inside a transaction."""
        rows = await self._items(as_id, "txn_id IS NOT NULL", limit)
        if rows:
            txn_id = int(rows[0]["txn_id"])
            return OpenTransaction(txn_id, [_item(r) for r in rows
                                            if int(r["txn_id"]) == txn_id])
        rows = await self._items(as_id, "txn_id IS NULL", limit)
        if not rows:
            return None
        txn_id = int(await self._db.fetchval(
            "UPDATE appservice_state SET last_txn_id = last_txn_id + 1 WHERE as_id = ?"
            " RETURNING last_txn_id", as_id))
        positions = [r["position"] for r in rows]
        await self._db.execute(
            "UPDATE appservice_queue SET txn_id = ? WHERE position IN"
            f" ({', '.join('?' for _ in positions)})", txn_id, *positions)
        return OpenTransaction(txn_id, [_item(r) for r in rows])

    async def _items(self, as_id: str, condition: str, limit: int) -> list[Any]:
        return await self._db.fetchall(
            "SELECT position, as_id, kind, stream_ordering, content, txn_id"
            f" FROM appservice_queue WHERE as_id = ? AND {condition}"
            " ORDER BY position LIMIT ?", as_id, limit)

    async def delivered(self, as_id: str, txn_id: int, now: int) -> None:
        """The service accepted the transaction: its items go, its health is good."""
        await self._db.execute(
            "DELETE FROM appservice_queue WHERE as_id = ? AND txn_id = ?", as_id, txn_id)
        await self._db.execute(
            "UPDATE appservice_state SET last_success_ts = ?, failing_since_ts = NULL,"
            " last_error = NULL, attempts = 0, next_attempt_ts = 0 WHERE as_id = ?",
            now, as_id)

    async def failed(self, as_id: str, now: int, error: str, next_attempt_ts: int) -> None:
        await self._db.execute(
            "UPDATE appservice_state SET failing_since_ts = COALESCE(failing_since_ts, ?),"
            " last_error = ?, attempts = attempts + 1, next_attempt_ts = ?"
            " WHERE as_id = ?", now, error, next_attempt_ts, as_id)

    async def set_paused(self, as_id: str, paused: bool) -> None:
        await self._db.execute("UPDATE appservice_state SET paused = ? WHERE as_id = ?",
                               paused, as_id)

    async def retry_now(self, as_id: str) -> None:
        await self._db.execute(
            "UPDATE appservice_state SET next_attempt_ts = 0 WHERE as_id = ?", as_id)

    async def claim(self, as_id: str, owner: str, now: int, until: int) -> bool:
        """Take (or keep) the right to send to this service until ``until``."""
        changed = await self._db.execute(
            "UPDATE appservice_state SET lease_owner = ?, lease_until = ?"
            " WHERE as_id = ? AND (lease_until < ? OR lease_owner = ?)",
            owner, until, as_id, now, owner)
        return changed == 1

    async def release(self, as_id: str, owner: str) -> None:
        await self._db.execute(
            "UPDATE appservice_state SET lease_until = 0 WHERE as_id = ? AND lease_owner = ?",
            as_id, owner)

    async def state(self, as_id: str) -> DeliveryState | None:
        row = await self._db.fetchone(
            "SELECT s.as_id, s.paused, s.last_success_ts, s.failing_since_ts, s.last_error,"
            " s.next_attempt_ts, s.attempts, (SELECT COUNT(*) FROM appservice_queue q"
            " WHERE q.as_id = s.as_id) AS backlog FROM appservice_state s"
            " WHERE s.as_id = ?", as_id)
        if row is None:
            return None
        return DeliveryState(row["as_id"], bool(row["paused"]), row["last_success_ts"],
                             row["failing_since_ts"], row["last_error"],
                             int(row["next_attempt_ts"]), int(row["attempts"]),
                             int(row["backlog"]))

    # -- room directory per network ------------------------------------------------------

    async def list_room(self, as_id: str, network_id: str, room_id: str) -> None:
        await self._db.execute(
            "INSERT INTO appservice_room_list (as_id, network_id, room_id) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING", as_id, network_id, room_id)

    async def unlist_room(self, as_id: str, network_id: str, room_id: str) -> None:
        await self._db.execute(
            "DELETE FROM appservice_room_list WHERE as_id = ? AND network_id = ?"
            " AND room_id = ?", as_id, network_id, room_id)

    async def listed_rooms(self, as_id: str | None = None,
                           network_id: str | None = None) -> list[str]:
        """Rooms in one network's directory, or (no arguments) in any network's."""
        if as_id is None:
            rows = await self._db.fetchall(
                "SELECT DISTINCT room_id FROM appservice_room_list ORDER BY room_id")
        else:
            rows = await self._db.fetchall(
                "SELECT room_id FROM appservice_room_list WHERE as_id = ? AND network_id = ?"
                " ORDER BY room_id", as_id, network_id)
        return [r["room_id"] for r in rows]


def _item(row: Any) -> QueuedItem:
    stream = row["stream_ordering"]
    return QueuedItem(row["as_id"], row["kind"], msgspec.json.decode(row["content"]),
                      None if stream is None else int(stream))
