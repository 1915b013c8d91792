"""Other servers' media for our users: answered from the cache (``remote_media_cache``
and ``remote_content/`` in the media store) or fetched once over federation
(``federation.media_fetch``) and kept there. Thumbnails of cached copies are made here
from the cached file, as for our own media.

Concurrent requests for an item that is not cached share one fetch (in this process;
two processes that fetch the same item at once each write a whole copy, and the last
rename and row win). A cached row whose file is gone (purged between the row's read and
the file's, or lost) is fetched again. Quarantined copies are 404 for everyone but an
admin who asks to bypass it; ``purge_media_cache`` drops copies nobody read lately.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from pathlib import Path

from glia import errors
from glia.clock import Clock
from glia.config import Config
from glia.ids import is_valid_server_name
from glia.services import media_files as files
from glia.services.federation.media_fetch import FetchedMedia, MediaFetcher
from glia.services.media import ACCESS_INTERVAL_MS, MediaFile, MediaService
from glia.services.media_uploads import check_media_id
from glia.storage import Storage
from glia.storage.remote_media import RemoteMedia

__all__ = ["RemoteMedia", "RemoteMediaService"]

logger = logging.getLogger(__name__)


class RemoteMediaService:
    def __init__(self, config: Config, storage: Storage, media: MediaService,
                 fetcher: MediaFetcher, clock: Clock) -> None:
        self._config = config.media
        self._storage = storage
        self._media = media
        self._fetcher = fetcher
        self._clock = clock
        self._root = config.resolve(config.media.store_path)
        self._fetching: dict[tuple[str, str], asyncio.Task[RemoteMedia]] = {}

    @property
    def max_size(self) -> int:
        return self._config.max_remote_media_size or self._config.max_upload_size

    def _path(self, item: RemoteMedia) -> Path:
        return self._media.remote_content_path(item.media_origin, item.media_id)

    async def get(self, origin: str, media_id: str, *, allow_remote: bool,
                  unauthenticated: bool, bypass_quarantine: bool) -> RemoteMedia:
        """The cached copy of ``mxc://origin/media_id``, fetched first if need be.

        ``unauthenticated`` requests (the legacy paths) are answered only from the
        cache and only with copies fetched while ``enable_authenticated_media`` was off,
        while it is on, as Synapse does; ``allow_remote=false`` never fetches."""
        if not check_media_id(media_id) or not is_valid_server_name(origin):
            raise errors.not_found()
        item = await self._storage.remote_media.get(origin, media_id)
        if unauthenticated and self._config.enable_authenticated_media \
                and (item is None or item.authenticated):
            raise errors.not_found()
        if item is not None:
            if item.quarantined_by and not bypass_quarantine:
                raise errors.not_found()
            if await asyncio.to_thread(self._path(item).is_file):
                await self._record_access(item)
                return item
            logger.info("cached copy of mxc://%s/%s has no file: fetching it again",
                        origin, media_id)
        if not allow_remote:
            raise errors.not_found()
        item = await self._fetch_once(origin, media_id)
        if item.quarantined_by and not bypass_quarantine:
            raise errors.not_found()
        return item

    async def _record_access(self, item: RemoteMedia) -> None:
        now = self._clock.now_ms()
        if now - item.last_access_ts >= ACCESS_INTERVAL_MS:
            await self._storage.remote_media.touch(item.media_origin, item.media_id, now)

    async def open(self, item: RemoteMedia) -> MediaFile:
        try:
            handle, size = await asyncio.to_thread(files.open_file, self._path(item))
        except FileNotFoundError as e:  # purged just now
            raise errors.not_found() from e
        return MediaFile(handle, item.content_type or "application/octet-stream", size,
                         item.upload_name)

    async def thumbnail(self, item: RemoteMedia, width: int, height: int, method: str,
                        animated: bool) -> MediaFile:
        """Made here from the cached file, as for our own media."""
        thumb = await self._media.file_thumbnail(
            f"{item.media_origin}/{item.media_id}", self._path(item), item.content_type,
            self._media.remote_thumbnail_dir(item.media_origin, item.media_id),
            width, height, method, animated)
        return thumb if thumb is not None else await self.open(item)

    # -- fetching ----------------------------------------------------------------------

    async def _fetch_once(self, origin: str, media_id: str) -> RemoteMedia:
        """One fetch for every concurrent request of the item (in its own task, so a
        client that hangs up cancels neither the fetch nor the others' wait)."""
        key = (origin, media_id)
        task = self._fetching.get(key)
        if task is None:
            task = asyncio.create_task(self._fetch(origin, media_id))
            self._fetching[key] = task
            task.add_done_callback(lambda t: self._fetch_done(key, t))
        return await asyncio.shield(task)

    def _fetch_done(self, key: tuple[str, str], task: asyncio.Task[RemoteMedia]) -> None:
        self._fetching.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every requester hung up

    async def _fetch(self, origin: str, media_id: str) -> RemoteMedia:
        """Stream the file into ``tmp/``, fsync it, rename it into place, then write
        its row: a row never points at a file that is not whole."""
        tmp_dir = self._root / "tmp"
        await asyncio.to_thread(files.make_dirs, tmp_dir)
        fd, tmp = await asyncio.to_thread(tempfile.mkstemp, dir=tmp_dir, prefix="remote-")
        out = os.fdopen(fd, "wb")

        async def write(data: bytes) -> None:
            await asyncio.to_thread(out.write, data)

        try:
            fetched: FetchedMedia = await self._fetcher.fetch(
                origin, media_id, write, self.max_size, self._config.remote_media_timeout)
            await asyncio.to_thread(files.flush_and_sync, out)
            out.close()
            await asyncio.to_thread(files.move_into_place, tmp,
                                    self._media.remote_content_path(origin, media_id))
        except BaseException:
            with contextlib.suppress(OSError):
                out.close()
            await asyncio.to_thread(files.discard, tmp)
            raise
        now = self._clock.now_ms()
        await self._storage.remote_media.insert(RemoteMedia(
            origin, media_id, fetched.content_type, fetched.upload_name, fetched.size, now,
            now, None, authenticated=self._config.enable_authenticated_media,
            sha256=fetched.sha256))
        item = await self._storage.remote_media.get(origin, media_id)
        if item is None:  # purged in the instant between
            raise errors.not_found()
        logger.info("fetched mxc://%s/%s (%d bytes)", origin, media_id, fetched.size)
        return item
