"""Events: full PDUs with their stream and topological positions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgspec

from glia.storage.engine import Dialect, Executor, Row


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    room_id: str
    stream_ordering: int
    depth: int
    pdu: dict[str, Any]
    unsigned: dict[str, Any]
    redacted_by: str | None
    sender_device: str | None
    txn_id: str | None

    @property
    def type(self) -> str:
        return str(self.pdu["type"])

    @property
    def sender(self) -> str:
        return str(self.pdu["sender"])

    @property
    def state_key(self) -> str | None:
        value = self.pdu.get("state_key")
        return None if value is None else str(value)

    @property
    def content(self) -> dict[str, Any]:
        content = self.pdu.get("content")
        return content if isinstance(content, dict) else {}


_COLUMNS = (
    "event_id, room_id, stream_ordering, depth, pdu, unsigned, redacted_by, sender_device, txn_id"
)


_DECODER = msgspec.json.Decoder()


def _load_json(text: str) -> Any:
    """A stored JSON text: msgspec reads an event in half the time of ``json``; what it
    refuses (an integer past 64 bits, which events of the oldest room versions may hold)
    ``json`` reads."""
    try:
        return _DECODER.decode(text)
    except msgspec.ValidationError:
        return json.loads(text)


def _event(row: Row) -> StoredEvent:
    return StoredEvent(
        event_id=row["event_id"],
        room_id=row["room_id"],
        stream_ordering=int(row["stream_ordering"]),
        depth=int(row["depth"]),
        pdu=_load_json(row["pdu"]),
        unsigned=_load_json(row["unsigned"]),
        redacted_by=row["redacted_by"],
        sender_device=row["sender_device"],
        txn_id=row["txn_id"],
    )


@dataclass(frozen=True)
class NewEvent:
    """What the single writer hands to storage for one event."""

    event_id: str
    room_id: str
    stream_ordering: int
    depth: int
    pdu: dict[str, Any]
    unsigned: dict[str, Any]
    relates_to: str | None
    rel_type: str | None
    sender_device: str | None
    txn_id: str | None


class EventStore:
    def __init__(self, db: Executor, dialect: Dialect) -> None:
        self._db = db
        self._dialect = dialect

    async def insert(self, e: NewEvent) -> None:
        pdu = e.pdu
        await self._db.execute(
            "INSERT INTO events (stream_ordering, event_id, room_id, depth, type, state_key,"
            " sender, origin_server_ts, pdu, unsigned, relates_to, rel_type, contains_url,"
            " sender_device, txn_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            e.stream_ordering, e.event_id, e.room_id, e.depth, pdu["type"],
            pdu.get("state_key"), pdu["sender"], pdu["origin_server_ts"],
            json.dumps(pdu, ensure_ascii=False, separators=(",", ":")),
            json.dumps(e.unsigned, separators=(",", ":")), e.relates_to, e.rel_type,
            isinstance(pdu.get("content", {}).get("url"), str), e.sender_device, e.txn_id,
        )

    async def get(self, event_id: str) -> StoredEvent | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM events WHERE event_id = ?",
                                      event_id)
        return None if row is None else _event(row)

    async def get_many(self, event_ids: list[str]) -> dict[str, StoredEvent]:
        if not event_ids:
            return {}
        marks = ", ".join("?" for _ in event_ids)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM events WHERE event_id IN ({marks})", *event_ids
        )
        return {r["event_id"]: _event(r) for r in rows}

    async def by_txn(self, sender: str, device_id: str, txn_id: str) -> StoredEvent | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM events WHERE sender = ? AND sender_device = ?"
            " AND txn_id = ?", sender, device_id, txn_id,
        )
        return None if row is None else _event(row)

    async def max_depth(self, event_ids: list[str]) -> int:
        if not event_ids:
            return 0
        marks = ", ".join("?" for _ in event_ids)
        value = await self._db.fetchval(
            f"SELECT MAX(depth) FROM events WHERE event_id IN ({marks})", *event_ids
        )
        return int(value or 0)

    async def redact(self, event_id: str, pruned_pdu: dict[str, Any],
                     unsigned: dict[str, Any], redacted_by: str, *,
                     original: dict[str, Any], room_id: str, redacted_ts: int) -> None:
        """Replace an event by its redacted form; the original PDU is set aside for
        admins (:meth:`original`) until :meth:`prune_originals`."""
        await self._db.execute(
            "UPDATE events SET pdu = ?, unsigned = ?, redacted_by = ?, relates_to = NULL,"
            " rel_type = NULL, contains_url = FALSE WHERE event_id = ?",
            json.dumps(pruned_pdu, ensure_ascii=False, separators=(",", ":")),
            json.dumps(unsigned, separators=(",", ":")), redacted_by, event_id,
        )
        await self._db.execute(
            "INSERT INTO redacted_originals (event_id, room_id, pdu, redacted_ts)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING", event_id, room_id,
            json.dumps(original, ensure_ascii=False, separators=(",", ":")), redacted_ts)

    async def original(self, event_id: str) -> dict[str, Any] | None:
        """The PDU of a redacted event as it was before, while it is kept."""
        value = await self._db.fetchval(
            "SELECT pdu FROM redacted_originals WHERE event_id = ?", event_id)
        return None if value is None else dict(json.loads(value))

    async def prune_originals(self, redacted_before: int) -> int:
        """Forget the originals of events redacted before ``redacted_before`` (ms)."""
        return await self._db.execute_bulk(
            "DELETE FROM redacted_originals WHERE redacted_ts < ?", redacted_before)

    async def page(self, room_id: str, *, backwards: bool, from_pos: tuple[int, int] | None,
                   to_pos: tuple[int, int] | None, limit: int,
                   types: list[str] | None = None, not_types: list[str] | None = None,
                   senders: list[str] | None = None, not_senders: list[str] | None = None,
                   contains_url: bool | None = None) -> list[StoredEvent]:
        """One page of a room's timeline in topological order.

        Positions are (depth, stream_ordering) and name a *gap*: the one just after the
        event at that position, so ``from_pos`` has everything at or before it behind
        it and everything after it ahead. Going backwards the page starts with the
        event at ``from_pos``; forwards, with the one after it. ``to_pos`` ends the page
        at the same gap from the other side.
        """
        where = ["room_id = ?"]
        args: list[Any] = [room_id]
        order = "DESC" if backwards else "ASC"
        if from_pos is not None:
            where.append("(depth < ? OR (depth = ? AND stream_ordering <= ?))" if backwards
                         else "(depth > ? OR (depth = ? AND stream_ordering > ?))")
            args += [from_pos[0], from_pos[0], from_pos[1]]
        if to_pos is not None:
            where.append("(depth > ? OR (depth = ? AND stream_ordering > ?))" if backwards
                         else "(depth < ? OR (depth = ? AND stream_ordering <= ?))")
            args += [to_pos[0], to_pos[0], to_pos[1]]
        for column, values, negate in (("type", types, False), ("type", not_types, True),
                                       ("sender", senders, False),
                                       ("sender", not_senders, True)):
            if values:
                condition, more = self._dialect.one_of(column, values, negate=negate)
                where.append(condition)
                args += more
        if contains_url is not None:
            where.append("contains_url = ?")
            args.append(contains_url)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)}"
            f" ORDER BY depth {order}, stream_ordering {order} LIMIT ?", *args, limit,
        )
        return [_event(r) for r in rows]

    async def relations(self, room_id: str, event_id: str, rel_type: str | None,
                        event_type: str | None, *, backwards: bool, from_stream: int | None,
                        to_stream: int | None, limit: int, max_hops: int = 1
                        ) -> list[StoredEvent]:
        """Events relating to ``event_id`` in stream order; with ``max_hops`` > 1 also
        events relating to those, and so on (``recurse`` on ``/relations``)."""
        where = ["room_id = ?"]
        args: list[Any] = [room_id]
        if max_hops > 1:
            related = (
                "WITH RECURSIVE related (event_id, hops) AS ("
                " SELECT event_id, 1 FROM events WHERE relates_to = ? AND room_id = ?"
                " UNION ALL SELECT e.event_id, r.hops + 1 FROM events e"
                " JOIN related r ON e.relates_to = r.event_id WHERE r.hops < ?) "
            )
            prefix_args: list[Any] = [event_id, room_id, max_hops]
            where.append("event_id IN (SELECT event_id FROM related)")
        else:
            related, prefix_args = "", []
            where.append("relates_to = ?")
            args.append(event_id)
        if rel_type is not None:
            where.append("rel_type = ?")
            args.append(rel_type)
        if event_type is not None:
            where.append("type = ?")
            args.append(event_type)
        op, order = ("<", "DESC") if backwards else (">", "ASC")
        if from_stream is not None:
            where.append(f"stream_ordering {op} ?")
            args.append(from_stream)
        if to_stream is not None:
            where.append(f"stream_ordering {'>=' if backwards else '<='} ?")
            args.append(to_stream)
        rows = await self._db.fetchall(
            f"{related}SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)}"
            f" ORDER BY stream_ordering {order} LIMIT ?", *prefix_args, *args, limit,
        )
        return [_event(r) for r in rows]

    async def thread_summaries(self, room_id: str, root_ids: list[str], user_id: str
                               ) -> dict[str, tuple[int, int, bool]]:
        """Per thread root: (replies, stream of the latest reply, user replied)."""
        if not root_ids:
            return {}
        marks = ", ".join("?" for _ in root_ids)
        rows = await self._db.fetchall(
            "SELECT relates_to, COUNT(*) AS replies, MAX(stream_ordering) AS latest,"
            " MAX(CASE WHEN sender = ? THEN 1 ELSE 0 END) AS mine FROM events"
            f" WHERE room_id = ? AND rel_type = 'm.thread' AND relates_to IN ({marks})"
            " GROUP BY relates_to", user_id, room_id, *root_ids,
        )
        return {r["relates_to"]: (int(r["replies"]), int(r["latest"]), bool(r["mine"]))
                for r in rows}

    async def references(self, room_id: str, event_ids: list[str]
                         ) -> dict[str, list[StoredEvent]]:
        """Per event: the events that ``m.reference`` it, oldest first."""
        if not event_ids:
            return {}
        marks = ", ".join("?" for _ in event_ids)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS}, relates_to FROM events WHERE room_id = ?"
            f" AND rel_type = 'm.reference' AND relates_to IN ({marks})"
            " ORDER BY stream_ordering", room_id, *event_ids,
        )
        out: dict[str, list[StoredEvent]] = {}
        for row in rows:
            out.setdefault(row["relates_to"], []).append(_event(row))
        return out

    async def latest_edits(self, room_id: str, event_ids: list[str]
                           ) -> dict[tuple[str, str, str], int]:
        """(edited event, editor, event type) → stream of the newest ``m.replace``."""
        if not event_ids:
            return {}
        marks = ", ".join("?" for _ in event_ids)
        rows = await self._db.fetchall(
            "SELECT relates_to, sender, type, MAX(stream_ordering) AS latest FROM events"
            f" WHERE room_id = ? AND rel_type = 'm.replace' AND relates_to IN ({marks})"
            " GROUP BY relates_to, sender, type", room_id, *event_ids,
        )
        return {(r["relates_to"], r["sender"], r["type"]): int(r["latest"]) for r in rows}

    async def by_streams(self, streams: list[int]) -> dict[int, StoredEvent]:
        if not streams:
            return {}
        marks = ", ".join("?" for _ in streams)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM events WHERE stream_ordering IN ({marks})", *streams)
        return {int(r["stream_ordering"]): _event(r) for r in rows}

    async def thread_roots(self, room_id: str, *, before_stream: int | None, limit: int,
                           participated_by: str | None) -> list[tuple[str, int]]:
        """Thread roots of a room, most recently active first: (root event ID, latest)."""
        args: list[Any] = [room_id]
        having = ""
        if participated_by is not None:
            having = (" AND (MAX(CASE WHEN t.sender = ? THEN 1 ELSE 0 END) = 1"
                      " OR MAX(CASE WHEN r.sender = ? THEN 1 ELSE 0 END) = 1)")
            args += [participated_by, participated_by]
        rows = await self._db.fetchall(
            "SELECT t.relates_to AS root, MAX(t.stream_ordering) AS latest"
            " FROM events t JOIN events r ON r.event_id = t.relates_to"
            " AND r.room_id = t.room_id"
            " WHERE t.room_id = ? AND t.rel_type = 'm.thread'"
            " GROUP BY t.relates_to HAVING 1 = 1" + having +
            (" AND MAX(t.stream_ordering) < ?" if before_stream is not None else "") +
            " ORDER BY latest DESC LIMIT ?",
            *args, *([before_stream] if before_stream is not None else []), limit,
        )
        return [(r["root"], int(r["latest"])) for r in rows]

    async def closest_by_ts(self, room_id: str, ts: int, forwards: bool, limit: int
                            ) -> list[StoredEvent]:
        """The events nearest ``ts`` going forwards (at or after) or backwards."""
        op, order = (">=", "ASC") if forwards else ("<=", "DESC")
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM events WHERE room_id = ? AND origin_server_ts {op} ?"
            f" ORDER BY origin_server_ts {order}, stream_ordering {order} LIMIT ?",
            room_id, ts, limit,
        )
        return [_event(r) for r in rows]

    async def latest_in_room(self, room_id: str) -> StoredEvent | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM events WHERE room_id = ?"
            " ORDER BY depth DESC, stream_ordering DESC LIMIT 1", room_id,
        )
        return None if row is None else _event(row)

    async def stream_page(self, room_id: str, after: int | None, upto: int, limit: int
                          ) -> list[StoredEvent]:
        """The newest ``limit`` events of a room with stream position in (after, upto],
        oldest first (a sync timeline)."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM events WHERE room_id = ? AND stream_ordering > ?"
            " AND stream_ordering <= ? ORDER BY stream_ordering DESC LIMIT ?",
            room_id, after if after is not None else -1, upto, limit,
        )
        return [_event(r) for r in reversed(rows)]

    async def stream_after(self, room_id: str, after: int, upto: int, limit: int
                           ) -> list[StoredEvent]:
        """The oldest ``limit`` events of a room with stream position in (after, upto],
        oldest first (an event stream read forwards)."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM events WHERE room_id = ? AND stream_ordering > ?"
            " AND stream_ordering <= ? ORDER BY stream_ordering LIMIT ?",
            room_id, after, upto, limit,
        )
        return [_event(r) for r in rows]

    async def window_summary(self, after: int, upto: int) -> list[tuple[str, str, str | None]]:
        """(room, type, state key) of every event in (after, upto], in no order: what a
        ``/sync`` looks at to tell that a short window holds nothing for its user."""
        rows = await self._db.fetchall(
            "SELECT room_id, type, state_key FROM events WHERE stream_ordering > ?"
            " AND stream_ordering <= ?", after, upto)
        return [(r["room_id"], r["type"], r["state_key"]) for r in rows]

    async def rooms_in_window(self, after: int, upto: int) -> set[str]:
        """Every room with events in (after, upto]: a range of the primary key, so its
        cost follows the events written in the window, not the rooms asked about."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT room_id FROM events WHERE stream_ordering > ?"
            " AND stream_ordering <= ?", after, upto)
        return {r["room_id"] for r in rows}

    async def rooms_with_events(self, room_ids: list[str], after: int, upto: int
                                ) -> set[str]:
        """Which of these rooms have events in (after, upto]."""
        if not room_ids:
            return set()
        marks = ", ".join("?" for _ in room_ids)
        rows = await self._db.fetchall(
            f"SELECT DISTINCT room_id FROM events WHERE room_id IN ({marks})"
            " AND stream_ordering > ? AND stream_ordering <= ?", *room_ids, after, upto,
        )
        return {r["room_id"] for r in rows}
