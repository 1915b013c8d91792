"""Notifications (what the push rules decided for each user), read positions and the
unread counts they give."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from glia.protocol.push_rules import Action
from glia.storage.engine import Row
from glia.storage.push.common import StoreBase, chunks, dumps, marks


@dataclass(frozen=True)
class Notification:
    user_id: str
    room_id: str
    event_id: str
    stream: int
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


#: Unread notifications: after the user's read position in the room (0 if none).
_UNREAD = (
    " n.stream > COALESCE((SELECT m.stream FROM push_read_markers m"
    " WHERE m.user_id = n.user_id AND m.room_id = n.room_id), 0)"
)


class NotificationStore(StoreBase):
    async def add_notifications(self, rows: Sequence[Notification]) -> None:
        """Store notifications; one already stored for that user and event stays as is
        (push evaluation may run twice on an event)."""
        if rows:
            await self._db.executemany(
                f"INSERT INTO push_notifications ({NOTIFICATION_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, stream) DO NOTHING",
                [(n.user_id, n.room_id, n.event_id, n.stream, n.thread_id, dumps(n.actions),
                  n.highlight, n.ts) for n in rows],
            )

    async def notified_of_events(self, event_ids: Sequence[str]) -> set[tuple[str, int]]:
        """The (user, stream) pairs of the notifications ``event_ids`` caused so far."""
        out: set[tuple[str, int]] = set()
        for chunk in chunks(list(event_ids)):
            rows = await self._db.fetchall(
                "SELECT user_id, stream FROM push_notifications"
                f" WHERE event_id IN ({marks(chunk)})", *chunk)
            out.update((r["user_id"], int(r["stream"])) for r in rows)
        return out

    async def delete_event_notifications(self, event_id: str) -> None:
        """Forget the notifications an event caused (it was redacted)."""
        await self._db.execute("DELETE FROM push_notifications WHERE event_id = ?", event_id)

    async def notifications(self, user_id: str, before_stream: int | None, limit: int,
                            highlight_only: bool) -> list[Notification]:
        """A user's notifications, newest first, older than ``before_stream``."""
        where = ["user_id = ?"]
        args: list[Any] = [user_id]
        if before_stream is not None:
            where.append("stream < ?")
            args.append(before_stream)
        if highlight_only:
            where.append("highlight = TRUE")
        rows = await self._db.fetchall(
            f"SELECT {NOTIFICATION_COLUMNS} FROM push_notifications"
            f" WHERE {' AND '.join(where)} ORDER BY stream DESC LIMIT ?", *args, limit,
        )
        return [notification_from_row(r) for r in rows]

    async def unread_counts(self, user_id: str, room_ids: Sequence[str]
                            ) -> dict[str, tuple[int, int]]:
        """(notification_count, highlight_count) per room, of the notifications after
        the user's read position there; rooms without any are left out."""
        out: dict[str, tuple[int, int]] = {}
        for chunk in chunks(list(room_ids)):
            rows = await self._db.fetchall(
                "SELECT n.room_id, COUNT(*) AS total,"
                " SUM(CASE WHEN n.highlight THEN 1 ELSE 0 END) AS highlights"
                f" FROM push_notifications n WHERE n.user_id = ?"
                f" AND n.room_id IN ({marks(chunk)}) AND{_UNREAD} GROUP BY n.room_id",
                user_id, *chunk,
            )
            for row in rows:
                out[row["room_id"]] = (int(row["total"]), int(row["highlights"] or 0))
        return out

    async def total_unread(self, user_id: str) -> int:
        """Unread notifications across all rooms (the push gateway's ``counts.unread``)."""
        return int(await self._db.fetchval(
            f"SELECT COUNT(*) FROM push_notifications n WHERE n.user_id = ? AND{_UNREAD}",
            user_id) or 0)

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

    async def delete_read_before(self, before_ts: int, limit: int) -> int:
        """Retention: delete up to ``limit`` read notifications older than ``before_ts``."""
        return await self._db.execute(
            "DELETE FROM push_notifications WHERE (user_id, stream) IN ("
            " SELECT n.user_id, n.stream FROM push_notifications n WHERE n.ts < ?"
            " AND n.stream <= COALESCE((SELECT m.stream FROM push_read_markers m"
            " WHERE m.user_id = n.user_id AND m.room_id = n.room_id), 0) LIMIT ?)",
            before_ts, limit,
        )
