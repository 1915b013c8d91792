"""Cached URL previews: one row per fetch of a URL, until it expires."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor

__all__ = ["CachedPreview", "UrlPreviewStore"]


@dataclass(frozen=True)
class CachedPreview:
    fetched_ts: int
    expires_ts: int
    og: dict[str, Any]


class UrlPreviewStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def at(self, url: str, ts: int) -> CachedPreview | None:
        """The preview of ``url`` fetched last at or before ``ts``, else the first one
        fetched after it (Synapse's choice for a ``ts`` older than every fetch)."""
        row = await self._db.fetchone(
            "SELECT fetched_ts, expires_ts, og FROM url_previews WHERE url = ?"
            " AND fetched_ts <= ? ORDER BY fetched_ts DESC LIMIT 1", url, ts)
        if row is None:
            row = await self._db.fetchone(
                "SELECT fetched_ts, expires_ts, og FROM url_previews WHERE url = ?"
                " AND fetched_ts > ? ORDER BY fetched_ts LIMIT 1", url, ts)
        if row is None:
            return None
        return CachedPreview(int(row["fetched_ts"]), int(row["expires_ts"]),
                             json.loads(row["og"]))

    async def add(self, url: str, fetched_ts: int, expires_ts: int, og: dict[str, Any]
                  ) -> None:
        await self._db.execute(
            "INSERT INTO url_previews (url, fetched_ts, expires_ts, og) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (url, fetched_ts) DO UPDATE SET expires_ts = excluded.expires_ts,"
            " og = excluded.og", url, fetched_ts, expires_ts, json.dumps(og))

    async def delete_expired(self, now: int) -> int:
        return await self._db.execute("DELETE FROM url_previews WHERE expires_ts <= ?", now)
