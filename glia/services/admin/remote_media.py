"""Synapse's ``purge_media_cache``: drop the cached copies of other servers' media that
nobody read since a given time (files and thumbnails; they are fetched again on demand,
see ``services.remote_media``). Quarantined copies stay, so a quarantine keeps blocking
a fresh download."""

from __future__ import annotations

import asyncio

from glia import errors
from glia.ids import is_valid_server_name
from glia.services import media_files as files
from glia.services.admin.media import MIN_BEFORE_TS
from glia.services.media import MediaService
from glia.services.media_uploads import check_media_id
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage

#: Copies removed per transaction.
BATCH = 500


class RemoteMediaCacheService:
    def __init__(self, storage: Storage, media: MediaService) -> None:
        self._storage = storage
        self._media = media

    async def purge(self, uow: UnitOfWork, before_ts: int) -> int:
        """Remove copies last read before ``before_ts`` (ms): rows in batches (the audit
        row commits with the first), then each batch's files. Returns how many."""
        if before_ts < MIN_BEFORE_TS:
            raise errors.invalid_param(
                "Query parameter before_ts you provided is from the year 1970. Double check"
                " that you are providing a timestamp in milliseconds.")
        deleted = 0
        while True:
            async with uow.transaction() as tx:
                batch = await tx.remote_media.unused_since(before_ts, BATCH)
                for item in batch:
                    deleted += await tx.remote_media.delete(item.media_origin, item.media_id)
            if not batch:
                return deleted
            for item in batch:
                # Never a path outside the store, whatever a row says.
                if check_media_id(item.media_id) and is_valid_server_name(item.media_origin):
                    self._media.forget(f"{item.media_origin}/{item.media_id}")
                    await asyncio.to_thread(
                        files.remove_media_files,
                        self._media.remote_content_path(item.media_origin, item.media_id),
                        self._media.remote_thumbnail_dir(item.media_origin, item.media_id))
