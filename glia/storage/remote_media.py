"""The cache of other servers' media (Synapse's ``remote_media_cache``): the rows; the
files are the media service's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from glia.storage.engine import Executor, Row


@dataclass(frozen=True)
class RemoteMedia:
    media_origin: str
    media_id: str
    content_type: str | None
    upload_name: str | None
    size: int
    created_ts: int
    last_access_ts: int
    quarantined_by: str | None
    authenticated: bool = False
    sha256: str | None = None


_COLUMNS = ("media_origin, media_id, content_type, upload_name, size, created_ts,"
            " last_access_ts, quarantined_by, authenticated, sha256")


def _remote(row: Row) -> RemoteMedia:
    return RemoteMedia(row["media_origin"], row["media_id"], row["content_type"],
                       row["upload_name"], int(row["size"]), int(row["created_ts"]),
                       int(row["last_access_ts"]), row["quarantined_by"],
                       bool(row["authenticated"]), row["sha256"])


class RemoteMediaStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def insert(self, media: RemoteMedia) -> None:
        """Record a fetched copy (the file is already in place). A copy fetched again
        (its file was lost, or another process fetched it at the same time) replaces
        the row's description but keeps a quarantine."""
        await self._db.execute(
            f"INSERT INTO remote_media_cache ({_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (media_origin, media_id) DO UPDATE SET"
            " content_type = excluded.content_type, upload_name = excluded.upload_name,"
            " size = excluded.size, last_access_ts = excluded.last_access_ts,"
            " authenticated = excluded.authenticated, sha256 = excluded.sha256,"
            " quarantined_by = COALESCE(remote_media_cache.quarantined_by,"
            " excluded.quarantined_by)",
            media.media_origin, media.media_id, media.content_type, media.upload_name,
            media.size, media.created_ts, media.last_access_ts, media.quarantined_by,
            media.authenticated, media.sha256)

    async def get(self, origin: str, media_id: str) -> RemoteMedia | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM remote_media_cache"
            " WHERE media_origin = ? AND media_id = ?", origin, media_id)
        return None if row is None else _remote(row)

    async def touch(self, origin: str, media_id: str, now: int) -> None:
        await self._db.execute(
            "UPDATE remote_media_cache SET last_access_ts = ?"
            " WHERE media_origin = ? AND media_id = ?", now, origin, media_id)

    async def quarantine(self, items: Sequence[tuple[str, str]], by: str) -> int:
        """Quarantine these cached copies (those not cached are skipped). Returns how
        many of them are cached, already quarantined ones included, as Synapse counts."""
        count = 0
        for origin, media_id in items:
            count += await self._db.execute(
                "UPDATE remote_media_cache SET quarantined_by = COALESCE(quarantined_by, ?)"
                " WHERE media_origin = ? AND media_id = ?", by, origin, media_id)
        return count

    async def unquarantine(self, origin: str, media_id: str) -> int:
        return await self._db.execute(
            "UPDATE remote_media_cache SET quarantined_by = NULL"
            " WHERE media_origin = ? AND media_id = ?", origin, media_id)

    async def unused_since(self, before_ts: int, limit: int) -> list[RemoteMedia]:
        """Copies not read since ``before_ts`` and not quarantined, oldest first."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM remote_media_cache"
            " WHERE last_access_ts < ? AND quarantined_by IS NULL"
            " ORDER BY last_access_ts, media_origin, media_id LIMIT ?", before_ts, limit)
        return [_remote(r) for r in rows]

    async def delete(self, origin: str, media_id: str) -> int:
        return await self._db.execute(
            "DELETE FROM remote_media_cache WHERE media_origin = ? AND media_id = ?",
            origin, media_id)
