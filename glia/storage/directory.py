"""Room aliases (``#alias:server`` → room ID)."""

from __future__ import annotations

from dataclasses import dataclass

from glia.storage.engine import Executor


@dataclass(frozen=True)
class Alias:
    room_alias: str
    room_id: str
    creator: str


class DirectoryStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def create_alias(self, alias: str, room_id: str, creator: str, now: int) -> bool:
        """Map an alias; False if it is taken."""
        changed = await self._db.execute(
            "INSERT INTO room_aliases (room_alias, room_id, creator, created_ts)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (room_alias) DO NOTHING",
            alias, room_id, creator, now,
        )
        return changed == 1

    async def get_alias(self, alias: str) -> Alias | None:
        row = await self._db.fetchone(
            "SELECT room_alias, room_id, creator FROM room_aliases WHERE room_alias = ?", alias
        )
        return None if row is None else Alias(row["room_alias"], row["room_id"], row["creator"])

    async def delete_alias(self, alias: str) -> None:
        await self._db.execute("DELETE FROM room_aliases WHERE room_alias = ?", alias)

    async def aliases_of(self, room_id: str) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT room_alias FROM room_aliases WHERE room_id = ? ORDER BY room_alias", room_id
        )
        return [r["room_alias"] for r in rows]

    async def move_aliases(self, from_room: str, to_room: str) -> list[str]:
        """Point every alias of ``from_room`` at ``to_room`` (room upgrades)."""
        moved = await self.aliases_of(from_room)
        await self._db.execute("UPDATE room_aliases SET room_id = ? WHERE room_id = ?",
                               to_room, from_room)
        return moved
