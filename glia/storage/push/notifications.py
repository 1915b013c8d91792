"""Notifications (what the push rules decided for each user), read positions and the
unread counts they give.

An event's notifications are stored in two shapes. A *room-wide* row
(``push_room_notifications``) holds the outcome most of the room's members share; it
stands for every local member joined when the event was sent, except its sender, who
has no row of their own for the event. Members with another outcome (a highlight, their
own rules, an HTTP pusher to deliver to, an invitee) get their own row
(``push_notifications``), which may say ``notify`` false: then it only takes them out of
the room-wide one. Counts and lists join room-wide rows with the reader's membership
intervals in ``room_state`` when they are read, so writing an event costs one row however
large the room.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from glia.protocol.push_rules import Action
from glia.storage.engine import Row
from glia.storage.push.common import StoreBase, chunks, dumps, marks
from glia.storage.users import like_pattern


@dataclass(frozen=True)
class Notification:
    """A user's own outcome for an event (``notify`` false: none, whatever the room-wide
    row says)."""

    user_id: str
    room_id: str
    event_id: str
    stream: int
    thread_id: str
    actions: list[Action]
    highlight: bool
    ts: int
    notify: bool = True


@dataclass(frozen=True)
class RoomNotification:
    """The outcome of an event for every local member joined at it but its sender and
    those with a :class:`Notification` of their own for it."""

    room_id: str
    event_id: str
    stream: int
    sender: str
    thread_id: str
    actions: list[Action]
    highlight: bool
    ts: int


NOTIFICATION_COLUMNS = "user_id, room_id, event_id, stream, thread_id, actions, highlight, ts"


def notification_from_row(row: Row) -> Notification:
    return Notification(
        user_id=row["user_id"], room_id=row["room_id"], event_id=row["event_id"],
        stream=int(row["stream"]), thread_id=row["thread_id"],
        actions=msgspec.json.decode(row["actions"]), highlight=bool(row["highlight"]),
        ts=int(row["ts"]),
    )


def _read_upto(user: str, room: str) -> str:
    """The read position of ``user`` (a placeholder or column) in ``room`` (0 if none)."""
    return (f"COALESCE((SELECT m.stream FROM push_read_markers m"
            f" WHERE m.user_id = {user} AND m.room_id = {room}), 0)")


#: Unread own notifications: notifying, after the user's read position in the room.
_UNREAD = f" n.notify AND n.stream > {_read_upto('n.user_id', 'n.room_id')}"

#: Room-wide rows ``w`` that are the user's (the one parameter): they were joined at the
#: event (a ``room_state`` membership interval ``s`` holding its stream), did not send
#: it (:data:`_NOT_OWN`), and have no own row for it.
_MEMBER_AT = (
    " JOIN room_state s ON s.room_id = w.room_id AND s.type = 'm.room.member'"
    " AND s.state_key = ? AND s.membership = 'join' AND s.from_stream <= w.stream"
    " AND (s.to_stream IS NULL OR s.to_stream > w.stream)"
)
_NOT_OWN = (
    " w.sender <> s.state_key AND NOT EXISTS (SELECT 1 FROM push_notifications o"
    " WHERE o.user_id = s.state_key AND o.stream = w.stream)"
)


class NotificationStore(StoreBase):
    async def add_notifications(self, rows: Sequence[Notification]) -> None:
        """Store users' own rows; one already stored for that user and event stays as
        is (push evaluation may run twice on an event)."""
        if rows:
            await self._db.executemany(
                f"INSERT INTO push_notifications ({NOTIFICATION_COLUMNS}, notify)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, stream) DO NOTHING",
                [(n.user_id, n.room_id, n.event_id, n.stream, n.thread_id, dumps(n.actions),
                  n.highlight, n.ts, n.notify) for n in rows],
            )

    async def add_room_notification(self, n: RoomNotification) -> None:
        await self._db.execute(
            "INSERT INTO push_room_notifications (stream, room_id, event_id, sender,"
            " thread_id, actions, highlight, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (stream) DO NOTHING",
            n.stream, n.room_id, n.event_id, n.sender, n.thread_id, dumps(n.actions),
            n.highlight, n.ts)

    async def events_with_notifications(self, event_ids: Sequence[str]) -> set[str]:
        """Which of ``event_ids`` have notifications stored (room-wide or own): their
        evaluation ran to its end, as it stores an event's rows in one transaction."""
        out: set[str] = set()
        for chunk in chunks(list(event_ids)):
            for table in ("push_room_notifications", "push_notifications"):
                rows = await self._db.fetchall(
                    f"SELECT DISTINCT event_id FROM {table}"
                    f" WHERE event_id IN ({marks(chunk)})", *chunk)
                out.update(r["event_id"] for r in rows)
        return out

    async def delete_event_notifications(self, event_id: str) -> None:
        """Forget the notifications an event caused (it was redacted)."""
        await self._db.execute(
            "DELETE FROM push_room_notifications WHERE event_id = ?", event_id)
        await self._db.execute("DELETE FROM push_notifications WHERE event_id = ?", event_id)

    async def notifications(self, user_id: str, before_stream: int | None, limit: int,
                            highlight_only: bool) -> list[Notification]:
        """A user's notifications (own and room-wide), newest first, older than
        ``before_stream``."""
        own, wide = ["user_id = ?", "notify"], [_NOT_OWN]
        own_args: list[Any] = [user_id]
        wide_args: list[Any] = []
        if before_stream is not None:
            own.append("stream < ?")
            wide.append("w.stream < ?")
            own_args.append(before_stream)
            wide_args.append(before_stream)
        if highlight_only:
            own.append("highlight = TRUE")
            wide.append("w.highlight = TRUE")
        rows = await self._db.fetchall(
            f"SELECT {NOTIFICATION_COLUMNS} FROM push_notifications"
            f" WHERE {' AND '.join(own)} UNION ALL"
            " SELECT s.state_key AS user_id, w.room_id, w.event_id, w.stream, w.thread_id,"
            f" w.actions, w.highlight, w.ts FROM push_room_notifications w{_MEMBER_AT}"
            f" WHERE {' AND '.join(wide)} ORDER BY stream DESC LIMIT ?",
            *own_args, user_id, *wide_args, limit,
        )
        return [notification_from_row(r) for r in rows]

    async def unread_counts(self, user_id: str, room_ids: Sequence[str]
                            ) -> dict[str, tuple[int, int]]:
        """(notification_count, highlight_count) per room, of the notifications after
        the user's read position there; rooms without any are left out."""
        totals: dict[str, list[int]] = {}
        for chunk in chunks(list(room_ids)):
            own = await self._db.fetchall(
                "SELECT n.room_id, COUNT(*) AS total,"
                " SUM(CASE WHEN n.highlight THEN 1 ELSE 0 END) AS highlights"
                f" FROM push_notifications n WHERE n.user_id = ?"
                f" AND n.room_id IN ({marks(chunk)}) AND{_UNREAD} GROUP BY n.room_id",
                user_id, *chunk,
            )
            wide = await self._db.fetchall(
                "SELECT w.room_id, COUNT(*) AS total,"
                " SUM(CASE WHEN w.highlight THEN 1 ELSE 0 END) AS highlights"
                f" FROM push_room_notifications w{_MEMBER_AT}"
                f" WHERE w.room_id IN ({marks(chunk)}) AND{_NOT_OWN}"
                f" AND w.stream > {_read_upto('s.state_key', 'w.room_id')} GROUP BY w.room_id",
                user_id, *chunk,
            )
            for row in [*own, *wide]:
                counts = totals.setdefault(row["room_id"], [0, 0])
                counts[0] += int(row["total"])
                counts[1] += int(row["highlights"] or 0)
        return {room_id: (c[0], c[1]) for room_id, c in totals.items()}

    async def total_unread(self, user_id: str) -> int:
        """Unread notifications across all rooms (the push gateway's ``counts.unread``)."""
        own = await self._db.fetchval(
            f"SELECT COUNT(*) FROM push_notifications n WHERE n.user_id = ? AND{_UNREAD}",
            user_id)
        wide = await self._db.fetchval(
            f"SELECT COUNT(*) FROM push_room_notifications w{_MEMBER_AT} WHERE{_NOT_OWN}"
            f" AND w.stream > {_read_upto('s.state_key', 's.room_id')}", user_id)
        return int(own or 0) + int(wide or 0)

    async def read_markers(self, user_id: str, room_ids: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in chunks(list(room_ids)):
            rows = await self._db.fetchall(
                "SELECT room_id, stream FROM push_read_markers WHERE user_id = ?"
                f" AND room_id IN ({marks(chunk)})", user_id, *chunk)
            out.update({r["room_id"]: int(r["stream"]) for r in rows})
        return out

    async def mark_read(self, user_id: str, room_id: str, stream: int) -> None:
        """Move the user's read position in a room forwards to ``stream`` (never back);
        an unknown room is ignored."""
        await self._db.execute(
            "INSERT INTO push_read_markers (user_id, room_id, stream)"
            " SELECT ?, ?, CAST(? AS BIGINT)"
            " WHERE EXISTS (SELECT 1 FROM rooms WHERE room_id = ?)"
            " ON CONFLICT (user_id, room_id) DO UPDATE SET stream = excluded.stream"
            " WHERE push_read_markers.stream < excluded.stream",
            user_id, room_id, stream, room_id,
        )

    async def delete_read_before(self, before_ts: int, limit: int,
                                 server_name: str) -> int:
        """Retention: delete up to ``limit`` read notifications older than ``before_ts``:
        own rows their user read, room-wide rows every local member joined at the event
        read (``server_name`` tells local members apart)."""
        deleted = await self._db.execute(
            "DELETE FROM push_room_notifications WHERE stream IN ("
            " SELECT w.stream FROM push_room_notifications w WHERE w.ts < ?"
            " AND NOT EXISTS (SELECT 1 FROM room_state s WHERE s.room_id = w.room_id"
            " AND s.type = 'm.room.member' AND s.membership = 'join'"
            " AND s.from_stream <= w.stream AND (s.to_stream IS NULL OR s.to_stream > w.stream)"
            " AND s.state_key LIKE ? ESCAPE '\\'"
            f" AND w.stream > {_read_upto('s.state_key', 'w.room_id')}) LIMIT ?)",
            before_ts, f"%:{like_pattern(server_name)}", limit,
        )
        # An exclusion goes only after the room-wide row it excludes from.
        return deleted + await self._db.execute(
            "DELETE FROM push_notifications WHERE (user_id, stream) IN ("
            " SELECT n.user_id, n.stream FROM push_notifications n WHERE n.ts < ?"
            f" AND n.stream <= {_read_upto('n.user_id', 'n.room_id')} AND (n.notify OR"
            " NOT EXISTS (SELECT 1 FROM push_room_notifications w WHERE w.stream = n.stream))"
            " LIMIT ?)",
            before_ts, limit,
        )
