"""Remote servers Glia federates with and their retry state (Synapse's ``destinations``),
read by the admin API; the outbound client's back-off writes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor, Row

#: The columns a destination list may be ordered by (Synapse's ``order_by`` values).
DESTINATION_ORDER = ("destination", "retry_last_ts", "retry_interval", "failure_ts",
                     "last_successful_stream_ordering")


@dataclass(frozen=True)
class Destination:
    destination: str
    retry_last_ts: int | None
    retry_interval: int | None
    failure_ts: int | None
    last_successful_stream_ordering: int | None


@dataclass(frozen=True)
class DestinationRoom:
    room_id: str
    stream_ordering: int


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _destination(row: Row) -> Destination:
    return Destination(row["destination"], _int(row["retry_last_ts"]),
                       _int(row["retry_interval"]), _int(row["failure_ts"]),
                       _int(row["last_successful_stream_ordering"]))


_COLUMNS = ", ".join(DESTINATION_ORDER)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class FederationDestinationStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def upsert(self, destination: Destination) -> None:
        await self._db.execute(
            f"INSERT INTO federation_destinations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (destination) DO UPDATE SET retry_last_ts = excluded.retry_last_ts,"
            " retry_interval = excluded.retry_interval, failure_ts = excluded.failure_ts,"
            " last_successful_stream_ordering = excluded.last_successful_stream_ordering",
            destination.destination, destination.retry_last_ts, destination.retry_interval,
            destination.failure_ts, destination.last_successful_stream_ordering)

    async def set_room(self, destination: str, room_id: str, stream_ordering: int) -> None:
        await self._db.execute(
            "INSERT INTO federation_destination_rooms (destination, room_id, stream_ordering)"
            " VALUES (?, ?, ?) ON CONFLICT (destination, room_id) DO UPDATE SET"
            " stream_ordering = excluded.stream_ordering", destination, room_id,
            stream_ordering)

    async def page(self, *, search: str | None, order_by: str, backwards: bool,
                   offset: int, limit: int) -> tuple[list[Destination], int]:
        """Destinations whose name contains ``search``, ordered by ``order_by`` (a
        never-set value counts as the smallest on both engines), then by name."""
        if order_by not in DESTINATION_ORDER:
            raise ValueError(order_by)
        where, args = "", []
        if search:
            where = " WHERE lower(destination) LIKE ? ESCAPE '\\'"
            args.append(f"%{_like_escaped(search.lower())}%")
        total = int(await self._db.fetchval(
            f"SELECT COUNT(*) FROM federation_destinations{where}", *args))
        direction = "DESC" if backwards else "ASC"
        order = f"destination {direction}" if order_by == "destination" else (
            f"CASE WHEN {order_by} IS NULL THEN 0 ELSE 1 END {direction}, {order_by}"
            f" {direction}, destination ASC")
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM federation_destinations{where} ORDER BY {order}"
            " LIMIT ? OFFSET ?", *args, limit, offset)
        return [_destination(r) for r in rows], total

    async def get(self, destination: str) -> Destination | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM federation_destinations WHERE destination = ?",
            destination)
        return None if row is None else _destination(row)

    async def rooms(self, destination: str, *, backwards: bool, offset: int, limit: int
                    ) -> tuple[list[DestinationRoom], int]:
        total = int(await self._db.fetchval(
            "SELECT COUNT(*) FROM federation_destination_rooms WHERE destination = ?",
            destination))
        rows = await self._db.fetchall(
            "SELECT room_id, stream_ordering FROM federation_destination_rooms"
            f" WHERE destination = ? ORDER BY room_id {'DESC' if backwards else 'ASC'}"
            " LIMIT ? OFFSET ?", destination, limit, offset)
        return [DestinationRoom(r["room_id"], int(r["stream_ordering"])) for r in rows], total

    async def reset_retry(self, destination: str) -> None:
        """Forget the failures, so the next send is tried at once."""
        await self._db.execute(
            "UPDATE federation_destinations SET retry_last_ts = 0, retry_interval = 0,"
            " failure_ts = NULL WHERE destination = ?", destination)
