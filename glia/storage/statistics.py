"""Figures the admin statistics endpoints compute from the tables as they are: media use
per uploader, the rooms taking the most space, and a user's invites and joins over time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor
from glia.storage.users import like_pattern

#: Synapse's ``order_by`` values of the media statistics → ORDER BY expressions. NULL
#: display names sort as the smallest value on both engines.
USER_MEDIA_ORDER = {
    "media_length": "media_length",
    "media_count": "media_count",
    "user_id": "m.user_id",
    "displayname": "CASE WHEN p.displayname IS NULL THEN 0 ELSE 1 END {dir}, p.displayname",
}


@dataclass(frozen=True)
class UserMediaUsage:
    user_id: str
    displayname: str | None
    media_count: int
    media_length: int


@dataclass(frozen=True)
class RoomSize:
    room_id: str
    #: Characters of stored event JSON (the PDU and its server-added unsigned data).
    estimated_size: int


@dataclass(frozen=True)
class UserMediaQuery:
    from_ts: int = 0
    until_ts: int | None = None
    search_term: str | None = None
    order_by: str = "user_id"
    backwards: bool = False


class StatisticsStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def user_media_page(self, query: UserMediaQuery, offset: int, limit: int
                              ) -> tuple[list[UserMediaUsage], int]:
        """Uploaders with at least one stored upload created in the range, with their
        count and total bytes. IDs reserved by ``/create`` and never filled are not
        media yet and are not counted."""
        where = ["m.size IS NOT NULL", "m.created_ts >= ?"]
        args: list[Any] = [query.from_ts]
        if query.until_ts is not None:
            where.append("m.created_ts <= ?")
            args.append(query.until_ts)
        if query.search_term is not None:
            term = like_pattern(query.search_term.lower())
            where.append("(lower(m.user_id) LIKE ? ESCAPE '\\'"
                         " OR lower(p.displayname) LIKE ? ESCAPE '\\')")
            args += [f"@%{term}%:%", f"%{term}%"]
        grouped = (
            "SELECT m.user_id, p.displayname, COUNT(*) AS media_count,"
            " SUM(m.size) AS media_length FROM media m"
            " LEFT JOIN profiles p ON p.user_id = m.user_id"
            f" WHERE {' AND '.join(where)} GROUP BY m.user_id, p.displayname"
        )
        total = await self._db.fetchval(f"SELECT COUNT(*) FROM ({grouped}) grouped", *args)
        direction = "DESC" if query.backwards else "ASC"
        order = USER_MEDIA_ORDER[query.order_by].format(dir=direction)
        rows = await self._db.fetchall(
            f"{grouped} ORDER BY {order} {direction}, m.user_id ASC LIMIT ? OFFSET ?",
            *args, limit, offset)
        return [UserMediaUsage(r["user_id"], r["displayname"], int(r["media_count"]),
                               int(r["media_length"] or 0)) for r in rows], int(total or 0)

    async def largest_rooms(self, limit: int) -> list[RoomSize]:
        """The rooms whose stored events are largest. This reads every event row: the
        figure is exact, and its cost grows with the database."""
        rows = await self._db.fetchall(
            "SELECT room_id, SUM(LENGTH(pdu) + LENGTH(unsigned)) AS size FROM events"
            " GROUP BY room_id ORDER BY size DESC, room_id ASC LIMIT ?", limit)
        return [RoomSize(r["room_id"], int(r["size"] or 0)) for r in rows]

    async def sent_invite_count(self, user_id: str, from_ts: int) -> int:
        """Invites the user sent (in any room) at or after ``from_ts``."""
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM events e JOIN room_state s ON s.room_id = e.room_id"
            " AND s.from_stream = e.stream_ordering AND s.event_id = e.event_id"
            " WHERE e.sender = ? AND e.type = 'm.room.member' AND s.type = 'm.room.member'"
            " AND s.membership = 'invite' AND e.origin_server_ts >= ?", user_id, from_ts)
        return int(value or 0)

    async def joined_room_count(self, user_id: str, from_ts: int) -> int:
        """Distinct rooms with a join of the user at or after ``from_ts``, whatever the
        user's membership is now."""
        value = await self._db.fetchval(
            "SELECT COUNT(DISTINCT s.room_id) FROM room_state s JOIN events e"
            " ON e.room_id = s.room_id AND e.stream_ordering = s.from_stream"
            " WHERE s.state_key = ? AND s.type = 'm.room.member' AND s.membership = 'join'"
            " AND e.origin_server_ts >= ?", user_id, from_ts)
        return int(value or 0)
