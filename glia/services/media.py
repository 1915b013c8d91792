"""The content repository: uploads (direct and via ``/create``), downloads, thumbnails.

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
import hashlib
import logging
import os
import re
import secrets
import shutil
import string
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.services import thumbnails
from glia.services.thumbnails import ImageInfo, Size
from glia.storage import Storage
from glia.storage.media import Media, Thumbnail

__all__ = ["Media", "MediaFile", "MediaService", "Thumbnail"]

logger = logging.getLogger(__name__)

_MEDIA_ID = re.compile(r"[A-Za-z0-9_-]+")
_ID_ALPHABET = string.ascii_letters
#: Uploads are written in pieces of about this size (one worker-thread hop each).
_WRITE_BATCH = 1024 * 1024
#: Downloads wait at most this long for a pending upload, whatever timeout_ms says.
MAX_WAIT_MS = 60_000
DEFAULT_WAIT_MS = 20_000
#: A download records its access time at most this often per item.
ACCESS_INTERVAL_MS = 60_000
_PROBE_CACHE = 4096
#: Files in tmp/ older than this were left by a crash (no upload takes a day).
_STALE_TMP_S = 86400

NOT_YET_UPLOADED = "Media has not been uploaded yet"


@dataclass
class MediaFile:
    """An open file to answer with. The handle is opened before the response starts,
    so a concurrent delete cannot turn a 200 into a broken body."""

    file: BinaryIO
    content_type: str
    size: int
    upload_name: str | None


def check_media_id(media_id: str) -> bool:
    """The spec's media-ID alphabet; anything else (``..``, ``/``) can never exist."""
    return bool(_MEDIA_ID.fullmatch(media_id)) and len(media_id) <= 255


def base_type(content_type: str | None) -> str:
    """``image/PNG; foo=bar`` → ``image/png``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


class MediaService:
    def __init__(self, config: Config, storage: Storage) -> None:
        self._config = config.media
        self._server_name = config.server_name
        self._storage = storage
        self._root = config.resolve(config.media.store_path)
        self._expiration_ms = int(config.media.unused_expiration * 1000)
        #: Wakes downloads waiting on a pending ID the moment its upload lands here.
        self._waiters: dict[str, set[asyncio.Event]] = {}
        #: Async uploads in progress in this process (one per ID at a time).
        self._uploading: set[str] = set()
        self._generating: dict[tuple[str, Size], asyncio.Task[Thumbnail]] = {}
        #: Image headers by media ID: immutable once uploaded, so safe to cache.
        self._probed: OrderedDict[str, ImageInfo] = OrderedDict()
        self._decoder = thumbnails.Decoder(config.media.max_image_pixels,
                                           config.media.max_concurrent_thumbnails)
        self._tmp_swept = False

    def mxc(self, media_id: str) -> str:
        return f"mxc://{self._server_name}/{media_id}"

    # -- paths -------------------------------------------------------------------------

    def content_path(self, media_id: str) -> Path:
        return self._root / "local_content" / media_id[:2] / media_id[2:4] / media_id[4:]

    def thumbnail_dir(self, media_id: str) -> Path:
        return self._root / "local_thumbnails" / media_id[:2] / media_id[2:4] / media_id[4:]

    def _thumbnail_path(self, media_id: str, size: Size) -> Path:
        return self.thumbnail_dir(media_id) / f"{size.width}-{size.height}-{size.method}"

    # -- uploads -----------------------------------------------------------------------

    def upload_config(self) -> dict[str, int]:
        return {"m.upload.size": self._config.max_upload_size}

    async def create(self, user_id: str) -> dict[str, object]:
        """``POST /create``: a pending ID the user must upload to within the expiry."""
        now = now_ms()
        created_after = now - self._expiration_ms
        async with self._storage.transaction() as tx:
            await tx.media.delete_expired_pending(created_after)
            count, oldest = await tx.media.count_pending(user_id, created_after)
            if count >= self._config.max_pending_uploads:
                retry = (oldest or now) + self._expiration_ms - now
                raise errors.limit_exceeded(max(retry, 0))
            media_id = _new_media_id()
            await tx.media.create_pending(media_id, user_id, now)
        return {"content_uri": self.mxc(media_id), "unused_expires_at": now + self._expiration_ms}

    async def upload(self, user_id: str, content_type: str | None, upload_name: str | None,
                     declared_length: int | None, body: AsyncIterator[bytes]) -> str:
        """``POST /upload``: store the body under a new ID; returns its ``mxc://`` URI."""
        content_type, upload_name = self._check_metadata(content_type, upload_name,
                                                         declared_length)
        media_id = _new_media_id()
        received = await self._receive(body)
        final = self.content_path(media_id)
        # A fresh random ID has no competitor: the file goes into place (durably) before
        # the row exists, so no one can ever see a row without its file.
        try:
            await asyncio.to_thread(_move_into_place, received.path, final)
        except BaseException:
            _discard(received.path)
            raise
        try:
            async with self._storage.transaction() as tx:
                quarantined = await tx.media.hash_quarantined(received.sha256)
                await tx.media.insert(media_id, user_id, content_type, upload_name,
                                      received.size, now_ms(), received.sha256,
                                      "system" if quarantined else None)
        except BaseException:
            await asyncio.to_thread(_discard, str(final))
            raise
        return self.mxc(media_id)

    async def upload_to(self, user_id: str, server_name: str, media_id: str,
                        content_type: str | None, upload_name: str | None,
                        declared_length: int | None, body: AsyncIterator[bytes]) -> None:
        """``PUT /upload/{serverName}/{mediaId}``: the content of an ID from ``/create``,
        by its creator, once."""
        if server_name != self._server_name:
            raise errors.not_found("Non-local server name specified")
        if not check_media_id(media_id):
            raise errors.not_found("Unknown media ID")
        if media_id in self._uploading:
            raise MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA", "Media ID cannot be overwritten")
        self._uploading.add(media_id)
        try:
            await self._check_can_upload(user_id, media_id)
            content_type, upload_name = self._check_metadata(content_type, upload_name,
                                                             declared_length)
            received = await self._receive(body)
            try:
                async with self._storage.transaction() as tx:
                    quarantined = await tx.media.hash_quarantined(received.sha256)
                    filled = await tx.media.fill_pending(
                        media_id, user_id, content_type, upload_name, received.size,
                        received.sha256, "system" if quarantined else None,
                        now_ms() - self._expiration_ms)
                    if not filled:
                        # Someone else's upload (another process) or a delete got there
                        # first; say which, as the checks above would have.
                        await self._check_can_upload(user_id, media_id, tx.media.get)
                        raise MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA",
                                          "Media ID already has content")
                    await asyncio.to_thread(_move_into_place, received.path,
                                            self.content_path(media_id))
            finally:
                _discard(received.path)
        finally:
            self._uploading.discard(media_id)
        for event in self._waiters.pop(media_id, ()):
            event.set()

    async def _check_can_upload(
        self, user_id: str, media_id: str,
        get: Callable[[str], Awaitable[Media | None]] | None = None,
    ) -> None:
        media = await (get or self._storage.media.get)(media_id)
        if media is None:
            raise errors.not_found("Unknown media ID")
        if media.user_id != user_id:
            raise errors.forbidden("Only the creator of the media ID can upload to it")
        if not media.pending:
            raise MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA", "Media ID already has content")
        if media.created_ts < now_ms() - self._expiration_ms:
            raise errors.not_found("Media ID has expired")

    def _check_metadata(self, content_type: str | None, upload_name: str | None,
                        declared_length: int | None) -> tuple[str, str | None]:
        if declared_length is not None and declared_length > self._config.max_upload_size:
            raise errors.too_large("Upload request body is too large")
        for value in (content_type, upload_name):
            if value is not None and "\x00" in value:
                raise errors.invalid_param("Text may not contain NUL characters")
        return content_type or "application/octet-stream", upload_name or None

    async def _receive(self, body: AsyncIterator[bytes]) -> _Received:
        """Stream the body into a temporary file, hashing as it goes, refusing it past
        the size limit; the file is fsync'd before this returns."""
        tmp_dir = self._root / "tmp"
        await asyncio.to_thread(_make_dirs, tmp_dir)
        if not self._tmp_swept:
            self._tmp_swept = True
            await asyncio.to_thread(_sweep_tmp, tmp_dir, time.time() - _STALE_TMP_S)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        out = os.fdopen(fd, "wb")
        digest = hashlib.sha256()
        size = 0
        pending: list[bytes] = []
        buffered = 0
        try:
            async for chunk in body:
                size += len(chunk)
                if size > self._config.max_upload_size:
                    raise errors.too_large("Upload request body is too large")
                digest.update(chunk)
                pending.append(chunk)
                buffered += len(chunk)
                if buffered >= _WRITE_BATCH:
                    await asyncio.to_thread(out.write, b"".join(pending))
                    pending, buffered = [], 0
            if pending:
                await asyncio.to_thread(out.write, b"".join(pending))
            await asyncio.to_thread(_flush_and_sync, out)
        except BaseException:
            out.close()
            _discard(name)
            raise
        out.close()
        return _Received(name, size, digest.hexdigest())

    # -- downloads ---------------------------------------------------------------------

    async def local_media(self, server_name: str, media_id: str, *, timeout_ms: int | None,
                          allow_remote: bool, bypass_quarantine: bool) -> Media:
        """The uploaded item behind an ``mxc://`` URI, waiting up to ``timeout_ms`` for a
        pending upload. Remote media is not fetched (no federation yet): 404."""
        if server_name != self._server_name:
            # With allow_remote=false a server must not fetch; we never fetch (yet).
            raise errors.not_found("Not found" if not allow_remote else
                                   "Remote media is not available: no federation yet")
        if not check_media_id(media_id):
            raise errors.not_found()
        wait_ms = DEFAULT_WAIT_MS if timeout_ms is None else min(timeout_ms, MAX_WAIT_MS)
        deadline = asyncio.get_running_loop().time() + wait_ms / 1000
        while True:
            media = await self._storage.media.get(media_id)
            if media is None or (media.quarantined_by and not bypass_quarantine):
                raise errors.not_found()
            if not media.pending:
                await self._record_access(media)
                return media
            if media.created_ts < now_ms() - self._expiration_ms:
                raise errors.not_found()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise MatrixError(504, "M_NOT_YET_UPLOADED", NOT_YET_UPLOADED)
            await self._wait_for_upload(media_id, min(remaining, 0.5))

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
        now = now_ms()
        if media.last_access_ts is None or now - media.last_access_ts >= ACCESS_INTERVAL_MS:
            await self._storage.media.touch(media.media_id, now)

    async def open(self, media: Media) -> MediaFile:
        """The item's bytes, opened. A row whose file is gone (removed by hand, lost)
        answers 404 rather than a broken response."""
        try:
            handle, size = await asyncio.to_thread(_open_file,
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
        content_type = base_type(media.content_type)
        if content_type not in thumbnails.THUMBNAILABLE_TYPES:
            raise errors.unknown("Cannot generate thumbnails for the requested content")
        info = await self._probe(media)
        choice = thumbnails.choose(info, content_type, width, height, method, animated)
        if choice.original:
            return await self.open(media)
        assert choice.size is not None
        size = choice.size
        thumb = await self._storage.media.thumbnail(media.media_id, size.width, size.height,
                                                    size.method)
        path = self._thumbnail_path(media.media_id, size)
        if thumb is not None:
            try:
                handle, length = await asyncio.to_thread(_open_file, path)
                return MediaFile(handle, thumb.content_type, length, None)
            except FileNotFoundError:
                pass  # lost or never written: generate it again
        thumb = await self._generate(media, size)
        try:
            handle, length = await asyncio.to_thread(_open_file, path)
        except FileNotFoundError as e:  # deleted while we generated it
            raise errors.not_found() from e
        return MediaFile(handle, thumb.content_type, length, None)

    async def _probe(self, media: Media) -> ImageInfo:
        info = self._probed.get(media.media_id)
        if info is not None:
            self._probed.move_to_end(media.media_id)
            return info
        try:
            info = await self._decoder.probe(str(self.content_path(media.media_id)))
        except FileNotFoundError as e:
            raise errors.not_found() from e
        except thumbnails.ImageTooLarge as e:
            raise errors.too_large("Content is too large to thumbnail") from e
        except thumbnails.ThumbnailError as e:
            raise errors.unknown("Cannot generate thumbnails for the requested content") from e
        self._probed[media.media_id] = info
        if len(self._probed) > _PROBE_CACHE:
            self._probed.popitem(last=False)
        return info

    async def _generate(self, media: Media, size: Size) -> Thumbnail:
        """Render and store one thumbnail; concurrent requests for it share the work."""
        key = (media.media_id, size)
        task = self._generating.get(key)
        if task is None:
            # A task of its own, so a client that hangs up does not cancel the work
            # (or the other requests waiting on it).
            task = asyncio.create_task(self._render_and_store(media, size))
            self._generating[key] = task
            task.add_done_callback(lambda t: self._generation_done(key, t))
        return await asyncio.shield(task)

    def _generation_done(self, key: tuple[str, Size], task: asyncio.Task[Thumbnail]) -> None:
        self._generating.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every requester hung up

    async def _render_and_store(self, media: Media, size: Size) -> Thumbnail:
        try:
            rendered = await self._decoder.render(str(self.content_path(media.media_id)),
                                                  size)
        except FileNotFoundError as e:
            raise errors.not_found() from e
        except thumbnails.ImageTooLarge as e:
            raise errors.too_large("Content is too large to thumbnail") from e
        except thumbnails.ThumbnailError as e:
            raise errors.unknown("Cannot generate thumbnails for the requested content") from e
        # Thumbnails can always be made again, so no fsync: only the atomic rename.
        await asyncio.to_thread(_write_atomically, self._root / "tmp",
                                self._thumbnail_path(media.media_id, size), rendered.data)
        thumb = Thumbnail(media.media_id, size.width, size.height, size.method,
                          rendered.width, rendered.height, rendered.content_type,
                          len(rendered.data))
        if not await self._storage.media.add_thumbnail(thumb, now_ms()):
            # The item was deleted meanwhile: take back the file just written.
            await asyncio.to_thread(_discard, str(self._thumbnail_path(media.media_id, size)))
            raise errors.not_found()
        return thumb

    # -- removal -----------------------------------------------------------------------

    async def remove_files(self, media_ids: list[str]) -> None:
        """Delete the files of items whose rows are already gone (after the commit: a
        crash in between leaves an unreachable file, never a row without its file)."""
        for media_id in media_ids:
            self._probed.pop(media_id, None)
            await asyncio.to_thread(_remove_media_files, self.content_path(media_id),
                                    self.thumbnail_dir(media_id))


@dataclass(frozen=True)
class _Received:
    path: str
    size: int
    sha256: str


def _new_media_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(24))


# -- blocking file work (run on worker threads) --------------------------------------------


def _make_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents, fsyncing each parent that gained an
    entry, so a new directory is as durable as the file later renamed into it."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
        _sync_dir(directory.parent)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _flush_and_sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def _move_into_place(tmp: str, final: Path) -> None:
    _make_dirs(final.parent)
    os.replace(tmp, final)
    _sync_dir(final.parent)


def _write_atomically(tmp_dir: Path, final: Path, data: bytes) -> None:
    _make_dirs(tmp_dir)
    _make_dirs(final.parent)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="thumb-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(name, final)
    except BaseException:
        _discard(name)
        raise


def _discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _sweep_tmp(tmp_dir: Path, before: float) -> None:
    """Remove what crashed uploads left behind (once per process)."""
    for entry in tmp_dir.iterdir():
        with contextlib.suppress(OSError):
            if entry.is_file() and entry.stat().st_mtime < before:
                entry.unlink()


def _open_file(path: Path) -> tuple[BinaryIO, int]:
    """The open file and its size (from the handle, so it matches what will be sent)."""
    handle = open(path, "rb")  # noqa: SIM115 - closed by the response that streams it
    return handle, os.fstat(handle.fileno()).st_size


def _remove_media_files(content: Path, thumbnail_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        content.unlink()
    shutil.rmtree(thumbnail_dir, ignore_errors=True)
