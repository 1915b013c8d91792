"""Local media: one row per media ID (pending until its bytes arrive) and its thumbnails.

The bytes themselves are files the media service writes; this store only knows rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor, Row


@dataclass(frozen=True)
class Media:
    media_id: str
    user_id: str
    content_type: str | None
    upload_name: str | None
    #: None while the ID is pending (made by /create, nothing uploaded yet).
    size: int | None
    created_ts: int
    sha256: str | None
    quarantined_by: str | None
    safe_from_quarantine: bool
    last_access_ts: int | None
    #: Stored while ``media.enable_authenticated_media`` was on: not served on the
    #: legacy unauthenticated paths while it is on.
    authenticated: bool = False

    @property
    def pending(self) -> bool:
        return self.size is None


@dataclass(frozen=True)
class Thumbnail:
    media_id: str
    box_width: int
    box_height: int
    method: str
    width: int
    height: int
    content_type: str
    size: int


@dataclass(frozen=True)
class QuarantineChange:
    """One entry of the quarantine change feed: the item's quarantine was set or lifted."""

    stream_id: int
    media_id: str
    quarantined: bool


#: Synapse's ``order_by`` values of the user media list → columns.
MEDIA_ORDER = {
    "media_id": "media_id", "upload_name": "upload_name", "created_ts": "created_ts",
    "last_access_ts": "last_access_ts", "media_length": "size",
    "media_type": "content_type", "quarantined_by": "quarantined_by",
    "safe_from_quarantine": "safe_from_quarantine",
}

_COLUMNS = ("media_id, user_id, content_type, upload_name, size, created_ts, sha256,"
            " quarantined_by, safe_from_quarantine, last_access_ts, authenticated")
_THUMB_COLUMNS = "media_id, box_width, box_height, method, width, height, content_type, size"


def _media(row: Row) -> Media:
    return Media(
        media_id=row["media_id"], user_id=row["user_id"], content_type=row["content_type"],
        upload_name=row["upload_name"],
        size=None if row["size"] is None else int(row["size"]),
        created_ts=int(row["created_ts"]), sha256=row["sha256"],
        quarantined_by=row["quarantined_by"],
        safe_from_quarantine=bool(row["safe_from_quarantine"]),
        last_access_ts=None if row["last_access_ts"] is None else int(row["last_access_ts"]),
        authenticated=bool(row["authenticated"]),
    )


def _thumbnail(row: Row) -> Thumbnail:
    return Thumbnail(row["media_id"], int(row["box_width"]), int(row["box_height"]),
                     row["method"], int(row["width"]), int(row["height"]),
                     row["content_type"], int(row["size"]))


def _in(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class MediaStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    # -- uploads -----------------------------------------------------------------------

    async def create_pending(self, media_id: str, user_id: str, now: int, *,
                             authenticated: bool = False) -> None:
        """Reserve an ID; ``authenticated`` is decided here, as in Synapse, and an upload
        to the ID later keeps it."""
        await self._db.execute(
            "INSERT INTO media (media_id, user_id, created_ts, authenticated)"
            " VALUES (?, ?, ?, ?)", media_id, user_id, now, authenticated)

    async def count_pending(self, user_id: str, created_after: int) -> tuple[int, int | None]:
        """How many unexpired pending IDs the user holds, and the oldest one's creation."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n, MIN(created_ts) AS oldest FROM media"
            " WHERE user_id = ? AND size IS NULL AND created_ts > ?", user_id, created_after)
        if row is None:
            return 0, None
        return int(row["n"]), None if row["oldest"] is None else int(row["oldest"])

    async def delete_expired_pending(self, created_before: int) -> int:
        return await self._db.execute(
            "DELETE FROM media WHERE size IS NULL AND created_ts < ?", created_before)

    async def insert(self, media_id: str, user_id: str, content_type: str,
                     upload_name: str | None, size: int, now: int, sha256: str,
                     quarantined_by: str | None, *, authenticated: bool = False) -> None:
        await self._db.execute(
            f"INSERT INTO media ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, FALSE, NULL, ?)",
            media_id, user_id, content_type, upload_name, size, now, sha256, quarantined_by,
            authenticated)

    async def fill_pending(self, media_id: str, user_id: str, content_type: str,
                           upload_name: str | None, size: int, sha256: str,
                           quarantined_by: str | None, created_after: int) -> bool:
        """Give a pending ID its content; False if it is no longer pending, expired, or
        not the user's (a concurrent upload won, or an admin deleted it)."""
        changed = await self._db.execute(
            "UPDATE media SET content_type = ?, upload_name = ?, size = ?, sha256 = ?,"
            " quarantined_by = ? WHERE media_id = ? AND user_id = ? AND size IS NULL"
            " AND created_ts > ?", content_type, upload_name, size, sha256, quarantined_by,
            media_id, user_id, created_after)
        return changed > 0

    async def get(self, media_id: str) -> Media | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM media WHERE media_id = ?",
                                      media_id)
        return None if row is None else _media(row)

    async def hash_quarantined(self, sha256: str) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM media WHERE sha256 = ? AND quarantined_by IS NOT NULL LIMIT 1",
            sha256)
        return row is not None

    async def touch(self, media_id: str, now: int) -> None:
        await self._db.execute("UPDATE media SET last_access_ts = ? WHERE media_id = ?",
                               now, media_id)

    # -- thumbnails --------------------------------------------------------------------

    async def thumbnail(self, media_id: str, box_width: int, box_height: int,
                        method: str) -> Thumbnail | None:
        row = await self._db.fetchone(
            f"SELECT {_THUMB_COLUMNS} FROM media_thumbnails WHERE media_id = ?"
            " AND box_width = ? AND box_height = ? AND method = ?",
            media_id, box_width, box_height, method)
        return None if row is None else _thumbnail(row)

    async def thumbnails(self, media_id: str) -> list[Thumbnail]:
        rows = await self._db.fetchall(
            f"SELECT {_THUMB_COLUMNS} FROM media_thumbnails WHERE media_id = ?"
            " ORDER BY box_width, box_height, method", media_id)
        return [_thumbnail(r) for r in rows]

    async def add_thumbnail(self, thumb: Thumbnail, now: int) -> bool:
        """Record a generated thumbnail; False if the media row is gone (deleted while
        the thumbnail was being made). A concurrent twin is simply kept."""
        changed = await self._db.execute(
            f"INSERT INTO media_thumbnails ({_THUMB_COLUMNS}, created_ts)"
            # Typed, so PostgreSQL knows the parameters' types in a SELECT list.
            " SELECT CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS TEXT),"
            " CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS BIGINT),"
            " CAST(? AS BIGINT) WHERE EXISTS"
            " (SELECT 1 FROM media WHERE media_id = ?)"
            " ON CONFLICT (media_id, box_width, box_height, method) DO UPDATE SET"
            " width = excluded.width, height = excluded.height,"
            " content_type = excluded.content_type, size = excluded.size",
            thumb.media_id, thumb.box_width, thumb.box_height, thumb.method, thumb.width,
            thumb.height, thumb.content_type, thumb.size, now, thumb.media_id)
        return changed > 0

    # -- administration ----------------------------------------------------------------

    async def quarantine(self, media_ids: Sequence[str], by: str) -> int:
        """Quarantine these items and every item sharing bytes with one of them, except
        protected ones (which lend their bytes' hash to nothing either). Returns how many
        items that covers, already quarantined ones included, as Synapse counts; only
        newly quarantined ones enter the change feed."""
        if not media_ids:
            return 0
        marks = _in(media_ids)
        covered = ("safe_from_quarantine = FALSE AND (media_id IN"
                   f" ({marks}) OR sha256 IN (SELECT sha256 FROM media WHERE media_id IN"
                   f" ({marks}) AND sha256 IS NOT NULL AND safe_from_quarantine = FALSE))")
        await self._lock_quarantine_feed()
        count = await self._db.fetchval(f"SELECT COUNT(*) FROM media WHERE {covered}",
                                        *media_ids, *media_ids)
        rows = await self._db.fetchall(
            f"UPDATE media SET quarantined_by = ? WHERE quarantined_by IS NULL AND {covered}"
            " RETURNING media_id", by, *media_ids, *media_ids)
        await self._record_quarantine_changes([r["media_id"] for r in rows], True)
        return int(count or 0)

    async def unquarantine(self, media_id: str) -> int:
        """Lift quarantine from the item and from every item with the same bytes."""
        await self._lock_quarantine_feed()
        rows = await self._db.fetchall(
            "UPDATE media SET quarantined_by = NULL WHERE quarantined_by IS NOT NULL AND"
            " (media_id = ? OR sha256 IN (SELECT sha256 FROM media WHERE media_id = ?"
            " AND sha256 IS NOT NULL)) RETURNING media_id", media_id, media_id)
        await self._record_quarantine_changes([r["media_id"] for r in rows], False)
        return len(rows)

    # -- the quarantine change feed ------------------------------------------------------

    async def _lock_quarantine_feed(self) -> None:
        """Take the feed's position row before any media row, so quarantining writers
        queue in one order (no deadlock) and commit their positions in order."""
        await self._db.execute(
            "UPDATE media_quarantine_position SET position = position WHERE id = 1")

    async def _record_quarantine_changes(self, media_ids: Sequence[str],
                                         quarantined: bool) -> None:
        if not media_ids:
            return
        last = int(await self._db.fetchval(
            "UPDATE media_quarantine_position SET position = position + ? WHERE id = 1"
            " RETURNING position", len(media_ids)))
        first = last - len(media_ids) + 1
        await self._db.executemany(
            "INSERT INTO media_quarantine_changes (stream_id, media_id, quarantined)"
            " VALUES (?, ?, ?)",
            [(first + i, media_id, quarantined) for i, media_id in enumerate(media_ids)])

    async def quarantine_position(self) -> int:
        """The newest position of the feed (0 before any change)."""
        return int(await self._db.fetchval(
            "SELECT position FROM media_quarantine_position WHERE id = 1") or 0)

    async def quarantine_changes(self, after: int, upto: int, limit: int
                                 ) -> list[QuarantineChange]:
        """Changes with positions in (``after``, ``upto``], oldest first."""
        rows = await self._db.fetchall(
            "SELECT stream_id, media_id, quarantined FROM media_quarantine_changes"
            " WHERE stream_id > ? AND stream_id <= ? ORDER BY stream_id LIMIT ?",
            after, upto, limit)
        return [QuarantineChange(int(r["stream_id"]), r["media_id"], bool(r["quarantined"]))
                for r in rows]

    async def set_protected(self, media_id: str, protected: bool) -> int:
        return await self._db.execute(
            "UPDATE media SET safe_from_quarantine = ? WHERE media_id = ?", protected,
            media_id)

    async def page_by_user(self, user_id: str, order_by: str, backwards: bool, offset: int,
                           limit: int) -> tuple[list[Media], int]:
        """One page of a user's media (pending IDs included, like Synapse); NULLs sort
        as the smallest value on both engines. Ties break on media_id ascending."""
        column = MEDIA_ORDER[order_by]
        direction = "DESC" if backwards else "ASC"
        total = await self._db.fetchval("SELECT COUNT(*) FROM media WHERE user_id = ?",
                                        user_id)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM media WHERE user_id = ? ORDER BY"
            f" CASE WHEN {column} IS NULL THEN 0 ELSE 1 END {direction}, {column} {direction},"
            " media_id ASC LIMIT ? OFFSET ?", user_id, limit, offset)
        return [_media(r) for r in rows], int(total or 0)

    async def user_media_ids(self, user_id: str, *, unquarantined: bool = False
                             ) -> list[str]:
        """The user's uploads; with ``unquarantined`` only those not quarantined yet."""
        only = " AND quarantined_by IS NULL" if unquarantined else ""
        rows = await self._db.fetchall(
            f"SELECT media_id FROM media WHERE user_id = ?{only} ORDER BY media_id", user_id)
        return [r["media_id"] for r in rows]

    async def existing(self, media_ids: Sequence[str]) -> list[str]:
        if not media_ids:
            return []
        rows = await self._db.fetchall(
            f"SELECT media_id FROM media WHERE media_id IN ({_in(media_ids)})"
            " ORDER BY media_id", *media_ids)
        return [r["media_id"] for r in rows]

    async def delete(self, media_ids: Sequence[str]) -> list[str]:
        """Remove these rows (and their thumbnails' rows); returns the IDs that existed."""
        found = await self.existing(media_ids)
        if found:
            marks = _in(found)
            await self._db.execute(
                f"DELETE FROM media_thumbnails WHERE media_id IN ({marks})", *found)
            await self._db.execute(f"DELETE FROM media WHERE media_id IN ({marks})", *found)
        return found

    async def sweep_candidates(self, before_ts: int, size_gt: int, after_media_id: str,
                               limit: int) -> list[Media]:
        """Media not accessed since ``before_ts`` (never-accessed: created before it),
        larger than ``size_gt``, neither quarantined nor protected, in media_id order
        after ``after_media_id`` (so a resumed sweep continues where it stopped)."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM media WHERE media_id > ?"
            " AND (last_access_ts < ? OR (last_access_ts IS NULL AND created_ts < ?))"
            " AND size > ? AND quarantined_by IS NULL AND safe_from_quarantine = FALSE"
            " ORDER BY media_id LIMIT ?", after_media_id, before_ts, before_ts, size_gt,
            limit)
        return [_media(r) for r in rows]

    async def profile_urls(self, prefix: str) -> set[str]:
        """Every ``mxc://`` URL starting with ``prefix`` in use as a global avatar, a room
        avatar, or a per-room member avatar in current state."""
        pattern = _like_prefix(prefix)
        urls: set[str] = set()
        for sql in ("SELECT avatar_url AS url FROM profiles WHERE avatar_url LIKE ? ESCAPE '\\'",
                    "SELECT avatar AS url FROM room_stats WHERE avatar LIKE ? ESCAPE '\\'"):
            urls.update(r["url"] for r in await self._db.fetchall(sql, pattern))
        rows = await self._db.fetchall(
            "SELECT e.pdu FROM room_state s JOIN events e ON e.event_id = s.event_id"
            " WHERE s.to_stream IS NULL AND s.type = 'm.room.member'"
            " AND e.pdu LIKE ? ESCAPE '\\'", "%" + pattern)
        for row in rows:
            url = _content(row["pdu"]).get("avatar_url")
            if isinstance(url, str) and url.startswith(prefix):
                urls.add(url)
        return urls

    async def room_media_urls(self, room_id: str, after_stream: int, limit: int
                              ) -> tuple[list[str], int | None]:
        """``content.url`` and ``content.info.thumbnail_url`` of one batch of the room's
        events (encrypted ones cannot be read), and where the next batch starts."""
        rows = await self._db.fetchall(
            "SELECT stream_ordering, pdu FROM events WHERE room_id = ? AND stream_ordering > ?"
            " AND type <> 'm.room.encrypted' ORDER BY stream_ordering LIMIT ?",
            room_id, after_stream, limit)
        urls: list[str] = []
        for row in rows:
            content = _content(row["pdu"])
            info = content.get("info")
            for url in (content.get("url"),
                        info.get("thumbnail_url") if isinstance(info, dict) else None):
                if isinstance(url, str) and url.startswith("mxc://"):
                    urls.append(url)
        following = int(rows[-1]["stream_ordering"]) if len(rows) == limit else None
        return urls, following


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _content(pdu: str) -> dict[str, Any]:
    try:
        content = json.loads(pdu).get("content")
    except (ValueError, AttributeError):
        return {}
    return content if isinstance(content, dict) else {}
