"""Rooms: version, creator, directory publication, forward extremities, forgetting."""

from __future__ import annotations

from dataclasses import dataclass

from glia.storage.engine import Dialect, Executor, Row


@dataclass(frozen=True)
class Room:
    room_id: str
    room_version: str
    creator: str
    created_ts: int
    published: bool


def _room(row: Row) -> Room:
    return Room(row["room_id"], row["room_version"], row["creator"], int(row["created_ts"]),
                bool(row["published"]))


class RoomStore:
    def __init__(self, db: Executor, dialect: Dialect) -> None:
        self._db = db
        self._dialect = dialect

    async def lock(self, room_id: str) -> None:
        """Serialize writers of one room until the transaction ends.

        SQLite transactions are already serialized; PostgreSQL takes a lock keyed by the
        room so several processes never fork a room's event graph.
        """
        await self._dialect.lock_name(self._db, room_id)

    async def create(self, room_id: str, room_version: str, creator: str, now: int) -> None:
        await self._db.execute(
            "INSERT INTO rooms (room_id, room_version, creator, created_ts, published)"
            " VALUES (?, ?, ?, ?, FALSE)",
            room_id, room_version, creator, now,
        )

    async def get(self, room_id: str) -> Room | None:
        row = await self._db.fetchone(
            "SELECT room_id, room_version, creator, created_ts, published FROM rooms"
            " WHERE room_id = ?", room_id,
        )
        return None if row is None else _room(row)

    async def set_published(self, room_id: str, published: bool) -> None:
        await self._db.execute(
            "UPDATE rooms SET published = ? WHERE room_id = ?", published, room_id
        )

    async def published_room_ids(self) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT room_id FROM rooms WHERE published = TRUE ORDER BY room_id"
        )
        return [r["room_id"] for r in rows]

    async def forward_extremities(self, room_id: str) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT event_id FROM forward_extremities WHERE room_id = ? ORDER BY event_id",
            room_id,
        )
        return [r["event_id"] for r in rows]

    async def set_forward_extremities(self, room_id: str, event_ids: list[str]) -> None:
        await self._db.execute("DELETE FROM forward_extremities WHERE room_id = ?", room_id)
        await self._db.executemany(
            "INSERT INTO forward_extremities (room_id, event_id) VALUES (?, ?)",
            [(room_id, e) for e in event_ids],
        )

    async def forget(self, user_id: str, room_id: str) -> None:
        await self._db.execute(
            "INSERT INTO forgotten_rooms (user_id, room_id) VALUES (?, ?)"
            " ON CONFLICT (user_id, room_id) DO NOTHING", user_id, room_id,
        )

    async def unforget(self, user_id: str, room_id: str) -> None:
        await self._db.execute(
            "DELETE FROM forgotten_rooms WHERE user_id = ? AND room_id = ?", user_id, room_id
        )

    async def is_forgotten(self, user_id: str, room_id: str) -> bool:
        return await self._db.fetchone(
            "SELECT 1 FROM forgotten_rooms WHERE user_id = ? AND room_id = ?", user_id, room_id
        ) is not None
