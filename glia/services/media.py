"""The content repository: uploads (direct and via ``/create``; ``media_uploads.py``),
downloads, thumbnails (here), and the file work both do (``media_files.py``).

Files live under ``media.store_path``: ``local_content/ab/cd/<rest of id>`` for the bytes,
``local_thumbnails/ab/cd/<rest of id>/<w>-<h>-<method>`` for thumbnails, ``tmp/`` for
uploads in flight. An upload streams into a temporary file (never held in memory), is
fsync'd, renamed into place and its directory fsync'd, and its row committed; only then
is the client answered, so an acknowledged upload survives a crash and no row ever lacks
its file. An upload to a ``/create`` ID is renamed inside the transaction that claims the
pending row, so two racing uploads to one ID (even in two processes) cannot both land.

Thumbnails are made lazily, on the first request for a size, and stored: uploads stay
fast and are acknowledged without waiting on image work, media nobody views as a
thumbnail (files, encrypted attachments, which arrive as opaque bytes) costs nothing,
and only the spec's five sizes (see ``services.thumbnails``) ever exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from glia import errors
from glia.clock import Clock, SystemClock
from glia.config import Config
from glia.errors import MatrixError
from glia.services import media_files as files
from glia.services import thumbnails
from glia.services.media_uploads import MediaUploads, check_media_id
from glia.services.thumbnails import ImageInfo, Size
from glia.storage import Storage
from glia.storage.media import Media, Thumbnail

__all__ = ["Media", "MediaFile", "MediaService", "Thumbnail", "base_type", "check_media_id"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Downloads wait at most this long for a pending upload, whatever timeout_ms says.
MAX_WAIT_MS = 60_000
DEFAULT_WAIT_MS = 20_000
#: A download records its access time at most this often per item.
ACCESS_INTERVAL_MS = 60_000
_PROBE_CACHE = 4096

NOT_YET_UPLOADED = "Media has not been uploaded yet"


@dataclass
class MediaFile:
    """An open file to answer with. The handle is opened before the response starts,
    so a concurrent delete cannot turn a 200 into a broken body."""

    file: BinaryIO
    content_type: str
    size: int
    upload_name: str | None


def base_type(content_type: str | None) -> str:
    """``image/PNG; foo=bar`` → ``image/png``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


class MediaService(MediaUploads):
    """The content repository: uploads (the base class), downloads, thumbnails, removal."""

    def __init__(self, config: Config, storage: Storage, clock: Clock | None = None
                 ) -> None:
        super().__init__(config, storage, clock or SystemClock())
        self._generating: dict[tuple[str, Size], asyncio.Task[Any]] = {}
        #: Image headers by media ID (``origin/ID`` for other servers' media): immutable
        #: once uploaded, so safe to cache.
        self._probed: OrderedDict[str, ImageInfo] = OrderedDict()
        self._decoder = thumbnails.Decoder(config.media.max_image_pixels,
                                           config.media.max_concurrent_thumbnails)

    def _thumbnail_path(self, media_id: str, size: Size) -> Path:
        return self.thumbnail_dir(media_id) / f"{size.width}-{size.height}-{size.method}"

    # -- downloads ---------------------------------------------------------------------

    async def local_media(self, server_name: str, media_id: str, *, timeout_ms: int | None,
                          allow_remote: bool, bypass_quarantine: bool,
                          unauthenticated: bool = False) -> Media:
        """The uploaded item behind an ``mxc://`` URI, waiting up to ``timeout_ms`` for a
        pending upload. Another server's media is ``remote_media``'s: 404 here.

        ``unauthenticated`` requests (the legacy download and thumbnail paths) get 404
        for authenticated media while ``enable_authenticated_media`` is on, as Synapse
        answers; turning the option off serves everything there again."""
        if server_name != self._server_name:
            raise errors.not_found()
        if not check_media_id(media_id):
            raise errors.not_found()
        wait_ms = DEFAULT_WAIT_MS if timeout_ms is None else min(timeout_ms, MAX_WAIT_MS)
        deadline = asyncio.get_running_loop().time() + wait_ms / 1000
        while True:
            media = await self._storage.media.get(media_id)
            if media is None or (media.quarantined_by and not bypass_quarantine):
                raise errors.not_found()
            if not media.pending:
                if unauthenticated and self._refused_unauthenticated(media):
                    raise errors.not_found()
                await self._record_access(media)
                return media
            if media.created_ts < self._clock.now_ms() - self._expiration_ms:
                raise errors.not_found()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise MatrixError(504, "M_NOT_YET_UPLOADED", NOT_YET_UPLOADED)
            await self._wait_for_upload(media_id, min(remaining, 0.5))

    def _refused_unauthenticated(self, media: Media) -> bool:
        return self._config.enable_authenticated_media and media.authenticated

    async def _wait_for_upload(self, media_id: str, seconds: float) -> None:
        """Sleep until an upload to ``media_id`` lands in this process, or ``seconds``
        pass (it may land in another process: the caller looks again)."""
        event = asyncio.Event()
        waiters = self._waiters.setdefault(media_id, set())
        waiters.add(event)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), seconds)
        finally:
            waiters.discard(event)
            if not waiters and self._waiters.get(media_id) is waiters:
                del self._waiters[media_id]

    async def _record_access(self, media: Media) -> None:
        now = self._clock.now_ms()
        if media.last_access_ts is None or now - media.last_access_ts >= ACCESS_INTERVAL_MS:
            await self._storage.media.touch(media.media_id, now)

    async def open(self, media: Media) -> MediaFile:
        """The item's bytes, opened. A row whose file is gone (removed by hand, lost)
        answers 404 rather than a broken response."""
        try:
            handle, size = await asyncio.to_thread(files.open_file,
                                                   self.content_path(media.media_id))
        except FileNotFoundError as e:
            logger.warning("media %s has a row but no file", media.media_id)
            raise errors.not_found() from e
        return MediaFile(handle, media.content_type or "application/octet-stream", size,
                         media.upload_name)

    async def thumbnail(self, media: Media, width: int, height: int, method: str,
                        animated: bool) -> MediaFile:
        """The best thumbnail for a request (see ``thumbnails.choose``), made now if it
        does not exist yet."""
        path = self.content_path(media.media_id)
        size = await self._choose(media.media_id, path, media.content_type, width, height,
                                  method, animated)
        if size is None:
            return await self.open(media)
        thumb = await self._storage.media.thumbnail(media.media_id, size.width, size.height,
                                                    size.method)
        thumb_path = self._thumbnail_path(media.media_id, size)
        if thumb is not None:
            try:
                handle, length = await asyncio.to_thread(files.open_file, thumb_path)
                return MediaFile(handle, thumb.content_type, length, None)
            except FileNotFoundError:
                pass  # lost or never written: generate it again
        thumb = await self._generate((media.media_id, size),
                                     lambda: self._render_and_store(media, size))
        try:
            handle, length = await asyncio.to_thread(files.open_file, thumb_path)
        except FileNotFoundError as e:  # deleted while we generated it
            raise errors.not_found() from e
        return MediaFile(handle, thumb.content_type, length, None)

    async def file_thumbnail(self, key: str, path: Path, content_type: str | None,
                             thumbnail_dir: Path, width: int, height: int, method: str,
                             animated: bool) -> MediaFile | None:
        """The best thumbnail of a file that has no thumbnail rows (another server's
        cached copy, ``key`` naming it), made once per size and kept as a file in
        ``thumbnail_dir``; None when the original itself is the best answer."""
        size = await self._choose(key, path, content_type, width, height, method, animated)
        if size is None:
            return None
        thumb_path = thumbnail_dir / f"{size.width}-{size.height}-{size.method}"
        try:
            handle, length = await asyncio.to_thread(files.open_file, thumb_path)
        except FileNotFoundError:
            await self._generate((key, size), lambda: self._render_to(path, size, thumb_path))
            try:
                handle, length = await asyncio.to_thread(files.open_file, thumb_path)
            except FileNotFoundError as e:  # purged while we generated it
                raise errors.not_found() from e
        # Thumbnails are JPEG or PNG; the file's first bytes say which.
        head = await asyncio.to_thread(handle.read, 3)
        await asyncio.to_thread(handle.seek, 0)
        return MediaFile(handle, "image/jpeg" if head == b"\xff\xd8\xff" else "image/png",
                         length, None)

    async def _choose(self, key: str, path: Path, content_type: str | None, width: int,
                      height: int, method: str, animated: bool) -> Size | None:
        """The stored size that answers a request; None: the original does."""
        kind = base_type(content_type)
        if kind not in thumbnails.THUMBNAILABLE_TYPES:
            raise errors.unknown("Cannot generate thumbnails for the requested content")
        info = await self._probe(key, path)
        choice = thumbnails.choose(info, kind, width, height, method, animated)
        if choice.original:
            return None
        assert choice.size is not None
        return choice.size

    async def dimensions(self, media_id: str) -> tuple[int, int] | None:
        """Width and height of a local image as displayed, or None when it is no image
        Glia decodes (URL previews report them)."""
        media = await self._storage.media.get(media_id)
        if media is None or media.pending:
            return None
        try:
            info = await self._probe(media.media_id, self.content_path(media.media_id))
        except MatrixError:
            return None
        return info.width, info.height

    async def _probe(self, key: str, path: Path) -> ImageInfo:
        info = self._probed.get(key)
        if info is not None:
            self._probed.move_to_end(key)
            return info
        try:
            info = await self._decoder.probe(str(path))
        except FileNotFoundError as e:
            raise errors.not_found() from e
        except thumbnails.ImageTooLarge as e:
            raise errors.too_large("Content is too large to thumbnail") from e
        except thumbnails.ThumbnailError as e:
            raise errors.unknown("Cannot generate thumbnails for the requested content") from e
        self._probed[key] = info
        if len(self._probed) > _PROBE_CACHE:
            self._probed.popitem(last=False)
        return info

    def forget(self, key: str) -> None:
        """Drop what is cached about a file that is going away."""
        self._probed.pop(key, None)

    async def _generate(self, key: tuple[str, Size],
                        work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``work`` (rendering and storing one thumbnail) once for concurrent
        requests of the same thumbnail."""
        task = self._generating.get(key)
        if task is None:
            # A task of its own, so a client that hangs up does not cancel the work
            # (or the other requests waiting on it).
            task = asyncio.create_task(work())
            self._generating[key] = task
            task.add_done_callback(lambda t: self._generation_done(key, t))
        return cast(T, await asyncio.shield(task))

    def _generation_done(self, key: tuple[str, Size], task: asyncio.Task[Any]) -> None:
        self._generating.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every requester hung up

    async def _render(self, path: Path, size: Size) -> thumbnails.Rendered:
        try:
            return await self._decoder.render(str(path), size)
        except FileNotFoundError as e:
            raise errors.not_found() from e
        except thumbnails.ImageTooLarge as e:
            raise errors.too_large("Content is too large to thumbnail") from e
        except thumbnails.ThumbnailError as e:
            raise errors.unknown("Cannot generate thumbnails for the requested content") from e

    async def _render_to(self, path: Path, size: Size, thumb_path: Path) -> None:
        rendered = await self._render(path, size)
        await asyncio.to_thread(files.write_atomically, self._root / "tmp", thumb_path,
                                rendered.data)

    async def _render_and_store(self, media: Media, size: Size) -> Thumbnail:
        rendered = await self._render(self.content_path(media.media_id), size)
        # Thumbnails can always be made again, so no fsync: only the atomic rename.
        await asyncio.to_thread(files.write_atomically, self._root / "tmp",
                                self._thumbnail_path(media.media_id, size), rendered.data)
        thumb = Thumbnail(media.media_id, size.width, size.height, size.method,
                          rendered.width, rendered.height, rendered.content_type,
                          len(rendered.data))
        if not await self._storage.media.add_thumbnail(thumb, self._clock.now_ms()):
            # The item was deleted meanwhile: take back the file just written.
            await asyncio.to_thread(files.discard, str(self._thumbnail_path(media.media_id, size)))
            raise errors.not_found()
        return thumb

    # -- removal -----------------------------------------------------------------------

    async def remove_files(self, media_ids: list[str]) -> None:
        """Delete the files of items whose rows are already gone (after the commit: a
        crash in between leaves an unreachable file, never a row without its file)."""
        for media_id in media_ids:
            self._probed.pop(media_id, None)
            await asyncio.to_thread(files.remove_media_files, self.content_path(media_id),
                                    self.thumbnail_dir(media_id))
