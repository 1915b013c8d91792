"""Uploads to the content repository: ``POST /upload``, ``POST /create`` and
``PUT /upload/{serverName}/{mediaId}`` (see ``media.py`` for the layout on disk and the
durability rules). The base of the media service, which adds downloads and thumbnails.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import string
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from glia import errors
from glia.clock import Clock
from glia.config import Config
from glia.errors import MatrixError
from glia.services import media_files as files
from glia.storage import Storage
from glia.storage.media import Media

_MEDIA_ID = re.compile(r"[A-Za-z0-9_-]+")
_ID_ALPHABET = string.ascii_letters
#: Uploads are written in pieces of about this size (one worker-thread hop each).
_WRITE_BATCH = 1024 * 1024
#: Files in tmp/ older than this were left by a crash (no upload takes a day).
_STALE_TMP_S = 86400


def check_media_id(media_id: str) -> bool:
    """The spec's media-ID alphabet; anything else (``..``, ``/``) can never exist."""
    return bool(_MEDIA_ID.fullmatch(media_id)) and len(media_id) <= 255


class UploadConfig(msgspec.Struct, frozen=True):
    """``GET /media/config``."""

    max_upload_size: int = msgspec.field(name="m.upload.size")


class CreatedMedia(msgspec.Struct, frozen=True):
    """``POST /create``: the reserved URI, and when it lapses unless uploaded to (ms)."""

    content_uri: str
    unused_expires_at: int


class MediaUploads:
    """Where media lives on disk, and the three ways bytes get there."""

    def __init__(self, config: Config, storage: Storage, clock: Clock) -> None:
        self._clock = clock
        self._config = config.media
        self._server_name = config.server_name
        self._storage = storage
        self._root = config.resolve(config.media.store_path)
        self._expiration_ms = int(config.media.unused_expiration * 1000)
        #: Wakes downloads waiting on a pending ID the moment its upload lands here.
        self._waiters: dict[str, set[asyncio.Event]] = {}
        #: Async uploads in progress in this process (one per ID at a time).
        self._uploading: set[str] = set()
        self._tmp_swept = False

    def mxc(self, media_id: str) -> str:
        return f"mxc://{self._server_name}/{media_id}"

    # -- paths -------------------------------------------------------------------------

    def content_path(self, media_id: str) -> Path:
        return self._root / "local_content" / media_id[:2] / media_id[2:4] / media_id[4:]

    def thumbnail_dir(self, media_id: str) -> Path:
        return self._root / "local_thumbnails" / media_id[:2] / media_id[2:4] / media_id[4:]

    def remote_content_path(self, origin: str, media_id: str) -> Path:
        """Where the cached copy of another server's item lives (Synapse's layout)."""
        return (self._root / "remote_content" / origin / media_id[:2] / media_id[2:4]
                / media_id[4:])

    def remote_thumbnail_dir(self, origin: str, media_id: str) -> Path:
        return (self._root / "remote_thumbnails" / origin / media_id[:2] / media_id[2:4]
                / media_id[4:])

    # -- uploads -----------------------------------------------------------------------

    def upload_config(self) -> UploadConfig:
        return UploadConfig(self._config.max_upload_size)

    async def create(self, user_id: str) -> CreatedMedia:
        """``POST /create``: a pending ID the user must upload to within the expiry."""
        now = self._clock.now_ms()
        created_after = now - self._expiration_ms
        async with self._storage.transaction() as tx:
            await tx.media.delete_expired_pending(created_after)
            count, oldest = await tx.media.count_pending(user_id, created_after)
            if count >= self._config.max_pending_uploads:
                retry = (oldest or now) + self._expiration_ms - now
                raise errors.limit_exceeded(max(retry, 0))
            media_id = _new_media_id()
            await tx.media.create_pending(
                media_id, user_id, now, authenticated=self._config.enable_authenticated_media)
        return CreatedMedia(self.mxc(media_id), now + self._expiration_ms)

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
            await asyncio.to_thread(files.move_into_place, received.path, final)
        except BaseException:
            files.discard(received.path)
            raise
        try:
            async with self._storage.transaction() as tx:
                quarantined = await tx.media.hash_quarantined(received.sha256)
                await tx.media.insert(media_id, user_id, content_type, upload_name,
                                      received.size, self._clock.now_ms(), received.sha256,
                                      "system" if quarantined else None,
                                      authenticated=self._config.enable_authenticated_media)
        except BaseException:
            await asyncio.to_thread(files.discard, str(final))
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
                        self._clock.now_ms() - self._expiration_ms)
                    if not filled:
                        # Someone else's upload (another process) or a delete got there
                        # first; say which, as the checks above would have.
                        await self._check_can_upload(user_id, media_id, tx.media.get)
                        raise MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA",
                                          "Media ID already has content")
                    await asyncio.to_thread(files.move_into_place, received.path,
                                            self.content_path(media_id))
            finally:
                files.discard(received.path)
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
        if media.created_ts < self._clock.now_ms() - self._expiration_ms:
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
        await asyncio.to_thread(files.make_dirs, tmp_dir)
        if not self._tmp_swept:
            self._tmp_swept = True
            await asyncio.to_thread(files.sweep_tmp, tmp_dir, time.time() - _STALE_TMP_S)
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
            await asyncio.to_thread(files.flush_and_sync, out)
        except BaseException:
            out.close()
            files.discard(name)
            raise
        out.close()
        return _Received(name, size, digest.hexdigest())


@dataclass(frozen=True)
class _Received:
    path: str
    size: int
    sha256: str


def _new_media_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(24))
