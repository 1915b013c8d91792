"""Pagination sessions of the space hierarchy walk (``/hierarchy``): where a walk stopped,
stored under a random token so any process can continue it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from glia.storage.engine import Executor


@dataclass(frozen=True)
class HierarchySession:
    user_id: str
    room_id: str
    suggested_only: bool
    max_depth: int | None
    admin: bool
    #: Rooms still to visit as (room_id, depth, servers to ask if this server does not
    #: have the room: the ``via`` of the child event that named it); the next is last.
    queue: list[tuple[str, int, list[str]]]
    processed: list[str]
    created_ts: int


class SpaceStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def save_session(self, token: str, session: HierarchySession) -> None:
        await self._db.execute(
            "INSERT INTO space_hierarchy_sessions (token, user_id, room_id, suggested_only,"
            " max_depth, admin, queue, processed, created_ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            token, session.user_id, session.room_id, session.suggested_only,
            session.max_depth, session.admin,
            json.dumps([[room_id, depth, via] for room_id, depth, via in session.queue]),
            json.dumps(session.processed), session.created_ts)

    async def session(self, token: str, created_after: int) -> HierarchySession | None:
        """The session under ``token`` if it was created after ``created_after``."""
        row = await self._db.fetchone(
            "SELECT user_id, room_id, suggested_only, max_depth, admin, queue, processed,"
            " created_ts FROM space_hierarchy_sessions WHERE token = ? AND created_ts > ?",
            token, created_after)
        if row is None:
            return None
        return HierarchySession(
            user_id=row["user_id"], room_id=row["room_id"],
            suggested_only=bool(row["suggested_only"]),
            max_depth=None if row["max_depth"] is None else int(row["max_depth"]),
            admin=bool(row["admin"]),
            # Sessions saved before the via lists were kept have pairs.
            queue=[(str(e[0]), int(e[1]), [str(v) for v in e[2]] if len(e) > 2 else [])
                   for e in json.loads(row["queue"])],
            processed=[str(r) for r in json.loads(row["processed"])],
            created_ts=int(row["created_ts"]))

    async def delete_sessions_before(self, created_ts: int) -> int:
        return await self._db.execute(
            "DELETE FROM space_hierarchy_sessions WHERE created_ts < ?", created_ts)
