"""Room state: current and historical, as deltas over stream positions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor
from glia.storage.users import like_pattern

StateKey = tuple[str, str]

#: State keys looked up per query (each one a term of a ``UNION ALL``).
_KEYS_PER_QUERY = 200


@dataclass(frozen=True)
class Membership:
    room_id: str
    user_id: str
    membership: str
    event_id: str


class StateStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def set(self, room_id: str, event_type: str, state_key: str, event_id: str,
                  membership: str | None, stream: int) -> str | None:
        """Make ``event_id`` the current state for its key; returns the replaced event ID."""
        replaced = await self._db.fetchval(
            "UPDATE room_state SET to_stream = ? WHERE room_id = ? AND type = ?"
            " AND state_key = ? AND to_stream IS NULL RETURNING event_id",
            stream, room_id, event_type, state_key,
        )
        await self._db.execute(
            "INSERT INTO room_state (room_id, type, state_key, event_id, membership,"
            " from_stream, to_stream) VALUES (?, ?, ?, ?, ?, ?, NULL)",
            room_id, event_type, state_key, event_id, membership, stream,
        )
        return None if replaced is None else str(replaced)

    async def unset(self, room_id: str, event_type: str, state_key: str, stream: int
                    ) -> str | None:
        """End the current state of a key at ``stream`` (state resolution may leave a
        key with no value); returns the event ID it had."""
        replaced = await self._db.fetchval(
            "UPDATE room_state SET to_stream = ? WHERE room_id = ? AND type = ?"
            " AND state_key = ? AND to_stream IS NULL RETURNING event_id",
            stream, room_id, event_type, state_key,
        )
        return None if replaced is None else str(replaced)

    async def after_event_overrides(self, event_ids: Sequence[str]
                                    ) -> dict[str, dict[StateKey, str | None]]:
        """Per event, where the state after it differs from ``ids_at`` at its stream
        position (None: the key is absent after it); events with no difference are
        left out."""
        out: dict[str, dict[StateKey, str | None]] = {}
        wanted = sorted(set(event_ids))
        for i in range(0, len(wanted), _KEYS_PER_QUERY):
            chunk = wanted[i:i + _KEYS_PER_QUERY]
            rows = await self._db.fetchall(
                "SELECT event_id, type, state_key, state_event_id FROM"
                f" event_state_overrides WHERE event_id IN ({', '.join('?' for _ in chunk)})",
                *chunk)
            for r in rows:
                out.setdefault(r["event_id"], {})[(r["type"], r["state_key"])] = \
                    r["state_event_id"]
        return out

    async def put_after_event_overrides(self, room_id: str, event_id: str,
                                        overrides: dict[StateKey, str | None]) -> None:
        await self._db.executemany(
            "INSERT INTO event_state_overrides (event_id, room_id, type, state_key,"
            " state_event_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(event_id, room_id, key[0], key[1], value)
             for key, value in sorted(overrides.items())])

    async def put_state_anchor(self, room_id: str, event_id: str, stream: int) -> None:
        """The stream position a soft-failed event's state overrides are relative to."""
        await self._db.execute(
            "INSERT INTO event_state_anchors (event_id, room_id, stream) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING", event_id, room_id, stream)

    async def state_anchors(self, room_id: str, event_ids: Sequence[str]) -> dict[str, int]:
        wanted = sorted(set(event_ids))
        if not wanted:
            return {}
        rows = await self._db.fetchall(
            "SELECT event_id, stream FROM event_state_anchors WHERE room_id = ?"
            f" AND event_id IN ({', '.join('?' for _ in wanted)})", room_id, *wanted)
        return {r["event_id"]: int(r["stream"]) for r in rows}

    async def current_ids(self, room_id: str, keys: list[StateKey] | None = None
                          ) -> dict[StateKey, str]:
        """Current state event IDs of a room (all of it, or just ``keys``)."""
        if keys is not None:
            return await self.current_ids_by_key(room_id, keys)
        return await self.ids_at(room_id, None)

    async def current_ids_by_key(self, room_id: str, keys: Sequence[StateKey]
                                 ) -> dict[StateKey, str]:
        """Current state event IDs of just ``keys`` (absent keys are left out): one
        indexed look-up per key, whatever the size of the room's state (the event writer
        selects auth events with it for every event, joins into big rooms included).
        Not one ``OR`` of key pairs: SQLite's planner reads that through an index on the
        room alone, every state row of the room for each event written."""
        return await self.ids_at(room_id, None, list(keys))

    async def ids_at(self, room_id: str, stream: int | None,
                     keys: list[StateKey] | None = None,
                     types: list[str] | None = None) -> dict[StateKey, str]:
        """State event IDs after the event at ``stream`` (None: current state)."""
        where = ["room_id = ?"]
        args: list[Any] = [room_id]
        if stream is None:
            where.append("to_stream IS NULL")
        else:
            where.append("from_stream <= ? AND (to_stream IS NULL OR to_stream > ?)")
            args += [stream, stream]
        if types:
            where.append(f"type IN ({', '.join('?' for _ in types)})")
            args += types
        select = f"SELECT type, state_key, event_id FROM room_state WHERE {' AND '.join(where)}"
        if keys is None:
            rows = await self._db.fetchall(select, *args)
        else:
            # A few keys (the auth events of one event): one index lookup each (a
            # UNION ALL, which both planners read key by key), not the whole state of a
            # room that may have thousands of members.
            wanted = sorted(set(keys))
            rows = []
            # SQLite allows at most 500 terms in one compound SELECT.
            for i in range(0, len(wanted), _KEYS_PER_QUERY):
                chunk = wanted[i:i + _KEYS_PER_QUERY]
                rows += await self._db.fetchall(
                    " UNION ALL ".join(f"{select} AND type = ? AND state_key = ?"
                                       for _ in chunk),
                    *[arg for key in chunk for arg in (*args, *key)])
        return {(r["type"], r["state_key"]): r["event_id"] for r in rows}

    async def members_at(self, room_id: str, stream: int | None,
                         memberships: list[str] | None = None,
                         not_memberships: list[str] | None = None) -> list[Membership]:
        where = ["room_id = ?", "type = 'm.room.member'"]
        args: list[Any] = [room_id]
        if stream is None:
            where.append("to_stream IS NULL")
        else:
            where.append("from_stream <= ? AND (to_stream IS NULL OR to_stream > ?)")
            args += [stream, stream]
        if memberships:
            where.append(f"membership IN ({', '.join('?' for _ in memberships)})")
            args += memberships
        if not_memberships:
            where.append(f"membership NOT IN ({', '.join('?' for _ in not_memberships)})")
            args += not_memberships
        rows = await self._db.fetchall(
            "SELECT room_id, state_key, membership, event_id FROM room_state"
            f" WHERE {' AND '.join(where)} ORDER BY state_key", *args,
        )
        return [Membership(r["room_id"], r["state_key"], r["membership"], r["event_id"])
                for r in rows]

    async def member_changes(self, room_id: str, after: int, upto: int
                             ) -> list[tuple[Membership, int]]:
        """The room's membership changes with stream position in (after, upto], oldest
        first, each with its position (what changed the members between two events). A
        membership that ended without a new one (state resolution dropped the key)
        comes as a ``leave`` at the position it ended."""
        rows = await self._db.fetchall(
            "SELECT room_id, state_key, membership, event_id, from_stream AS at, 0 AS ended"
            " FROM room_state WHERE room_id = ? AND from_stream > ? AND from_stream <= ?"
            " AND type = 'm.room.member'"
            " UNION ALL SELECT room_id, state_key, 'leave', event_id, to_stream, 1"
            " FROM room_state e WHERE room_id = ? AND to_stream > ? AND to_stream <= ?"
            " AND type = 'm.room.member' AND NOT EXISTS (SELECT 1 FROM room_state n"
            " WHERE n.room_id = e.room_id AND n.type = e.type"
            " AND n.state_key = e.state_key AND n.from_stream = e.to_stream)"
            " ORDER BY at, ended DESC",
            room_id, after, upto, room_id, after, upto)
        return [(Membership(r["room_id"], r["state_key"], r["membership"], r["event_id"]),
                 int(r["at"])) for r in rows]

    async def membership_of(self, room_id: str, user_id: str) -> Membership | None:
        row = await self._db.fetchone(
            "SELECT room_id, state_key, membership, event_id FROM room_state"
            " WHERE room_id = ? AND type = 'm.room.member' AND state_key = ?"
            " AND to_stream IS NULL", room_id, user_id,
        )
        if row is None:
            return None
        return Membership(row["room_id"], row["state_key"], row["membership"], row["event_id"])

    async def rooms_of_user(self, user_id: str, memberships: list[str]) -> list[Membership]:
        if not memberships:
            return []  # PostgreSQL refuses "IN ()".
        marks = ", ".join("?" for _ in memberships)
        rows = await self._db.fetchall(
            "SELECT room_id, state_key, membership, event_id FROM room_state"
            " WHERE state_key = ? AND type = 'm.room.member' AND to_stream IS NULL"
            f" AND membership IN ({marks}) ORDER BY room_id", user_id, *memberships,
        )
        return [Membership(r["room_id"], r["state_key"], r["membership"], r["event_id"])
                for r in rows]

    async def has_joined_member(self, room_id: str, server_name: str | None = None,
                                others: bool = False) -> bool:
        """Whether someone is joined to the room now: of ``server_name`` if given (of
        any other server with ``others``). One index probe, not the member list."""
        args: list[Any] = [room_id]
        of_server = ""
        if server_name is not None:
            of_server = f" AND state_key {'NOT ' if others else ''}LIKE ? ESCAPE '\\'"
            args.append(f"%:{like_pattern(server_name)}")
        return await self._db.fetchval(
            "SELECT 1 FROM room_state WHERE room_id = ? AND type = 'm.room.member'"
            f" AND to_stream IS NULL AND membership = 'join'{of_server} LIMIT 1",
            *args) is not None

    async def share_a_room(self, user_a: str, user_b: str) -> bool:
        """Whether both users are joined to some room now."""
        return await self._db.fetchval(
            "SELECT 1 FROM room_state a JOIN room_state b ON b.room_id = a.room_id"
            " WHERE a.type = 'm.room.member' AND a.state_key = ? AND a.membership = 'join'"
            " AND a.to_stream IS NULL AND b.type = 'm.room.member' AND b.state_key = ?"
            " AND b.membership = 'join' AND b.to_stream IS NULL LIMIT 1",
            user_a, user_b) is not None

    async def intervals(self, room_id: str, event_type: str,
                        state_key: str) -> list[StateInterval]:
        """Every value a state key ever had, oldest first (history visibility checks)."""
        return await _intervals(self._db, room_id, event_type, state_key)

    async def joined_count(self, room_id: str) -> int:
        return int(await self._db.fetchval(
            "SELECT COUNT(*) FROM room_state WHERE room_id = ? AND type = 'm.room.member'"
            " AND to_stream IS NULL AND membership = 'join'", room_id,
        ) or 0)


    async def membership_changes(self, user_id: str, after: int, upto: int
                                 ) -> list[tuple[Membership, int]]:
        """The user's membership events with stream position in (after, upto], oldest
        first, each with its position."""
        rows = await self._db.fetchall(
            "SELECT room_id, state_key, membership, event_id, from_stream FROM room_state"
            " WHERE state_key = ? AND type = 'm.room.member' AND from_stream > ?"
            " AND from_stream <= ? ORDER BY from_stream", user_id, after, upto,
        )
        return [(Membership(r["room_id"], r["state_key"], r["membership"], r["event_id"]),
                 int(r["from_stream"])) for r in rows]

    async def keys_changed(self, room_id: str, after: int, upto: int
                           ) -> frozenset[StateKey]:
        """The state keys of a room that took a new value in (after, upto]."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT type, state_key FROM room_state WHERE room_id = ?"
            " AND from_stream > ? AND from_stream <= ?", room_id, after, upto)
        return frozenset((r["type"], r["state_key"]) for r in rows)

    async def memberships_at(self, user_id: str, room_ids: Sequence[str], stream: int
                             ) -> dict[str, str]:
        """The user's membership in each of these rooms just after ``stream`` (rooms
        where they had none are left out)."""
        if not room_ids:
            return {}
        marks = ", ".join("?" for _ in room_ids)
        rows = await self._db.fetchall(
            "SELECT room_id, membership FROM room_state WHERE type = 'm.room.member'"
            f" AND state_key = ? AND room_id IN ({marks}) AND from_stream <= ?"
            " AND (to_stream IS NULL OR to_stream > ?)", user_id, *room_ids, stream, stream)
        return {r["room_id"]: r["membership"] for r in rows}

    async def newly_joined(self, room_ids: Sequence[str], after: int, upto: int
                           ) -> frozenset[str]:
        """Users who joined one of these rooms in (after, upto] without being joined
        just before (a profile change is no new join)."""
        if not room_ids:
            return frozenset()
        marks = ", ".join("?" for _ in room_ids)
        rows = await self._db.fetchall(
            "SELECT DISTINCT n.state_key FROM room_state n WHERE n.type = 'm.room.member'"
            f" AND n.room_id IN ({marks}) AND n.membership = 'join' AND n.from_stream > ?"
            " AND n.from_stream <= ? AND NOT EXISTS (SELECT 1 FROM room_state p"
            " WHERE p.room_id = n.room_id AND p.type = n.type AND p.state_key = n.state_key"
            " AND p.to_stream = n.from_stream AND p.membership = 'join')",
            *room_ids, after, upto)
        return frozenset(r["state_key"] for r in rows)

    async def member_counts(self, room_id: str) -> dict[str, int]:
        rows = await self._db.fetchall(
            "SELECT membership, COUNT(*) AS n FROM room_state WHERE room_id = ?"
            " AND type = 'm.room.member' AND to_stream IS NULL GROUP BY membership", room_id)
        return {r["membership"]: int(r["n"]) for r in rows}

    async def heroes(self, room_id: str, user_id: str, limit: int = 5) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT state_key FROM room_state WHERE room_id = ? AND type = 'm.room.member'"
            " AND to_stream IS NULL AND membership IN ('join', 'invite') AND state_key != ?"
            " ORDER BY state_key LIMIT ?", room_id, user_id, limit)
        return [r["state_key"] for r in rows]

@dataclass(frozen=True)
class StateInterval:
    """One state event and the stream interval it was in force for."""

    event_id: str
    membership: str | None
    from_stream: int
    to_stream: int | None


async def _intervals(db: Executor, room_id: str, event_type: str,
                     state_key: str) -> list[StateInterval]:
    rows = await db.fetchall(
        "SELECT event_id, membership, from_stream, to_stream FROM room_state"
        " WHERE room_id = ? AND type = ? AND state_key = ? ORDER BY from_stream",
        room_id, event_type, state_key,
    )
    return [StateInterval(r["event_id"], r["membership"], int(r["from_stream"]),
                          None if r["to_stream"] is None else int(r["to_stream"]))
            for r in rows]
