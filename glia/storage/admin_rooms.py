"""What the admin room API reads and writes: room statistics, blocks, and purging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor, Row
from glia.storage.users import like_pattern

#: order_by → (SQL expression, descending by default), as Synapse sorts its room list.
ROOM_ORDER: dict[str, tuple[str, bool]] = {
    "name": ("s.name", False), "alphabetical": ("s.name", False),
    "canonical_alias": ("s.canonical_alias", False),
    "joined_members": ("s.joined_members", True), "size": ("s.joined_members", True),
    "joined_local_members": ("s.joined_local_members", True),
    "version": ("r.room_version", True), "creator": ("r.creator", False),
    "encryption": ("s.encryption", False), "federatable": ("s.federatable", False),
    "public": ("r.published", False), "join_rules": ("s.join_rules", False),
    "guest_access": ("s.guest_access", False),
    "history_visibility": ("s.history_visibility", False),
    "state_events": ("s.state_events", True),
}
#: The order_by columns a room may lack; NULL sorts as the smallest value on both engines.
_NULLABLE = {"s.name", "s.canonical_alias", "s.encryption", "s.join_rules", "s.guest_access",
             "s.history_visibility"}

#: State types whose content feeds a room_stats column: type → (column, content key).
STAT_STATE = {
    "m.room.name": ("name", "name"), "m.room.canonical_alias": ("canonical_alias", "alias"),
    "m.room.topic": ("topic", "topic"), "m.room.avatar": ("avatar", "url"),
    "m.room.encryption": ("encryption", "algorithm"),
    "m.room.join_rules": ("join_rules", "join_rule"),
    "m.room.guest_access": ("guest_access", "guest_access"),
    "m.room.history_visibility": ("history_visibility", "history_visibility"),
    "m.room.tombstone": ("tombstone_successor", "replacement_room"),
}

#: Every table that holds rows of a room, deleted by a purge (children first).
ROOM_TABLES = (
    "event_reports", "receipts", "typing", "typing_rooms", "account_data",
    "server_notice_rooms", "room_stats", "room_aliases", "forgotten_rooms",
    "forward_extremities", "room_state", "redacted_originals", "federation_soft_failed",
    "federation_outliers", "federation_knocks", "remote_stripped_state",
    "event_state_overrides",
    "event_state_anchors", "events",
)


@dataclass(frozen=True)
class RoomListQuery:
    search_term: str | None = None
    public: bool | None = None
    empty: bool | None = None
    order_by: str = "name"
    backwards: bool = False


_LIST = (
    "SELECT r.room_id, r.room_version, r.creator, r.published, s.name, s.canonical_alias,"
    " s.topic, s.avatar, s.encryption, s.join_rules, s.guest_access, s.history_visibility,"
    " s.room_type, s.federatable, s.joined_members, s.joined_local_members, s.state_events,"
    " s.tombstone_successor FROM rooms r JOIN room_stats s ON s.room_id = r.room_id"
)


class AdminRoomStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    # -- statistics, kept current by the event writer ----------------------------------

    async def create_stats(self, room_id: str, room_type: str | None,
                           federatable: bool) -> None:
        await self._db.execute(
            "INSERT INTO room_stats (room_id, room_type, federatable) VALUES (?, ?, ?)"
            " ON CONFLICT (room_id) DO NOTHING", room_id, room_type, federatable)

    async def set_stat(self, room_id: str, column: str, value: str | None) -> None:
        if column not in {c for c, _ in STAT_STATE.values()}:
            raise ValueError(column)
        await self._db.execute(f"UPDATE room_stats SET {column} = ? WHERE room_id = ?",
                               value, room_id)

    async def recount(self, room_id: str, server_name: str) -> None:
        """Member and state counts from current state (after a state change)."""
        await self._db.execute(
            "UPDATE room_stats SET"
            " joined_members = (SELECT COUNT(*) FROM room_state WHERE room_id = ?"
            "  AND type = 'm.room.member' AND membership = 'join' AND to_stream IS NULL),"
            " joined_local_members = (SELECT COUNT(*) FROM room_state WHERE room_id = ?"
            "  AND type = 'm.room.member' AND membership = 'join' AND to_stream IS NULL"
            "  AND state_key LIKE ? ESCAPE '\\'),"
            " state_events = (SELECT COUNT(*) FROM room_state WHERE room_id = ?"
            "  AND to_stream IS NULL) WHERE room_id = ?",
            room_id, room_id, f"%:{like_pattern(server_name)}", room_id, room_id)

    async def adjust_counts(self, room_id: str, state_events: int, joined: int,
                            joined_local: int) -> None:
        if state_events or joined or joined_local:
            await self._db.execute(
                "UPDATE room_stats SET state_events = state_events + ?,"
                " joined_members = joined_members + ?,"
                " joined_local_members = joined_local_members + ? WHERE room_id = ?",
                state_events, joined, joined_local, room_id)

    async def rooms_without_stats(self) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT r.room_id FROM rooms r LEFT JOIN room_stats s ON s.room_id = r.room_id"
            " WHERE s.room_id IS NULL")
        return [r["room_id"] for r in rows]

    async def room_ids_after(self, after: str, limit: int) -> list[str]:
        """Every room in ID order, a page at a time (statistics rebuilds)."""
        rows = await self._db.fetchall(
            "SELECT room_id FROM rooms WHERE room_id > ? ORDER BY room_id LIMIT ?",
            after, limit)
        return [r["room_id"] for r in rows]

    # -- reading -------------------------------------------------------------------------

    async def page(self, query: RoomListQuery, offset: int, limit: int
                   ) -> tuple[list[Row], int]:
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if query.search_term is not None:
            term = like_pattern(query.search_term.lower())
            where.append("(lower(s.name) LIKE ? ESCAPE '\\' OR lower(s.canonical_alias)"
                         " LIKE ? ESCAPE '\\' OR r.room_id = ?)")
            args += [f"%{term}%", f"#%{term}%:%", query.search_term]
        if query.public is not None:
            where.append("r.published = ?")
            args.append(query.public)
        if query.empty is not None:
            where.append("s.joined_members = 0" if query.empty else "s.joined_members > 0")
        clause = " AND ".join(where)
        total = await self._db.fetchval(
            "SELECT COUNT(*) FROM rooms r JOIN room_stats s ON s.room_id = r.room_id"
            f" WHERE {clause}", *args)
        expression, descending = ROOM_ORDER[query.order_by]
        if query.backwards:
            descending = not descending
        direction = "DESC" if descending else "ASC"
        order = f"{expression} {direction}"
        if expression in _NULLABLE:
            # SQLite puts NULLs first, PostgreSQL last; say which, so both agree.
            order = f"CASE WHEN {expression} IS NULL THEN 0 ELSE 1 END {direction}, {order}"
        rows = await self._db.fetchall(
            f"{_LIST} WHERE {clause} ORDER BY {order}, r.room_id {direction}"
            " LIMIT ? OFFSET ?", *args, limit, offset)
        return rows, int(total or 0)

    async def get(self, room_id: str) -> Row | None:
        return await self._db.fetchone(f"{_LIST} WHERE r.room_id = ?", room_id)

    async def rooms_without_local_members(self) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT room_id FROM room_stats WHERE joined_local_members = 0 ORDER BY room_id")
        return [r["room_id"] for r in rows]

    async def local_devices_of_joined(self, room_id: str, server_name: str) -> int:
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM devices d JOIN room_state m ON m.state_key = d.user_id"
            " WHERE m.room_id = ? AND m.type = 'm.room.member' AND m.membership = 'join'"
            " AND m.to_stream IS NULL AND m.state_key LIKE ? ESCAPE '\\'",
            room_id, f"%:{like_pattern(server_name)}")
        return int(value or 0)

    async def rooms_with_local_joined(self, room_ids: list[str], server_name: str
                                      ) -> set[str]:
        """Of these rooms, those some local user is joined to now (the server is in)."""
        if not room_ids:
            return set()
        marks = ", ".join("?" for _ in room_ids)
        rows = await self._db.fetchall(
            "SELECT DISTINCT room_id FROM room_state WHERE type = 'm.room.member'"
            " AND membership = 'join' AND to_stream IS NULL AND state_key LIKE ? ESCAPE '\\'"
            f" AND room_id IN ({marks})", f"%:{like_pattern(server_name)}", *room_ids)
        return {r["room_id"] for r in rows}

    async def forgotten_by_all_local(self, room_id: str, server_name: str) -> bool:
        """Every local user who was ever in the room has forgotten it."""
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM room_state m WHERE m.room_id = ? AND m.to_stream IS NULL"
            " AND m.type = 'm.room.member' AND m.state_key LIKE ? ESCAPE '\\'"
            " AND NOT EXISTS (SELECT 1 FROM forgotten_rooms f WHERE f.room_id = m.room_id"
            " AND f.user_id = m.state_key)", room_id, f"%:{like_pattern(server_name)}")
        return int(value or 0) == 0

    # -- blocks --------------------------------------------------------------------------

    async def block(self, room_id: str, by: str, now: int) -> None:
        await self._db.execute(
            "INSERT INTO room_blocks (room_id, blocked_by, ts) VALUES (?, ?, ?)"
            " ON CONFLICT (room_id) DO NOTHING", room_id, by, now)

    async def unblock(self, room_id: str) -> None:
        await self._db.execute("DELETE FROM room_blocks WHERE room_id = ?", room_id)

    async def blocked_by(self, room_id: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT blocked_by FROM room_blocks WHERE room_id = ?", room_id)
        return None if value is None else str(value)

    # -- purging -------------------------------------------------------------------------

    async def count_events(self, room_id: str) -> int:
        return int(await self._db.fetchval(
            "SELECT COUNT(*) FROM events WHERE room_id = ?", room_id) or 0)

    async def delete_event_batch(self, room_id: str, batch: int) -> int:
        """Delete up to ``batch`` of the room's events (newest first); returns how many."""
        return await self._db.execute_bulk(
            "DELETE FROM events WHERE stream_ordering IN (SELECT stream_ordering FROM events"
            " WHERE room_id = ? ORDER BY stream_ordering DESC LIMIT ?)", room_id, batch)

    async def delete_room_rows(self, room_id: str) -> None:
        """Everything else the room left behind, then the room itself."""
        for table in ROOM_TABLES:
            await self._db.execute_bulk(f"DELETE FROM {table} WHERE room_id = ?", room_id)
        await self._db.execute("DELETE FROM rooms WHERE room_id = ?", room_id)

    # -- history purges ------------------------------------------------------------------

    async def history_batch(self, room_id: str, before: tuple[int, int],
                            keep_sender_suffix: str | None, batch: int) -> list[str]:
        """Up to ``batch`` message (non-state) events older than ``before`` (depth,
        stream), sparing senders ending in ``keep_sender_suffix``."""
        args: list[Any] = [room_id, before[0], before[0], before[1]]
        keep = ""
        if keep_sender_suffix is not None:
            keep = " AND sender NOT LIKE ? ESCAPE '\\'"
            args.append(f"%{like_pattern(keep_sender_suffix)}")
        rows = await self._db.fetchall(
            "SELECT event_id FROM events WHERE room_id = ? AND state_key IS NULL"
            " AND (depth < ? OR (depth = ? AND stream_ordering < ?))" + keep +
            " ORDER BY stream_ordering LIMIT ?", *args, batch)
        return [r["event_id"] for r in rows]

    async def delete_events(self, event_ids: list[str]) -> int:
        if not event_ids:
            return 0
        marks = ", ".join("?" for _ in event_ids)
        await self._db.execute_bulk(
            f"DELETE FROM redacted_originals WHERE event_id IN ({marks})", *event_ids)
        return await self._db.execute_bulk(f"DELETE FROM events WHERE event_id IN ({marks})",
                                      *event_ids)

    async def delete_forward_extremities_except(self, room_id: str, keep: str) -> int:
        return await self._db.execute(
            "DELETE FROM forward_extremities WHERE room_id = ? AND event_id != ?",
            room_id, keep)
