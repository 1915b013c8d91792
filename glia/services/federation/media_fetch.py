"""Fetching another server's media for our users: the authenticated federation endpoint
``/_matrix/federation/v1/media/download/{mediaId}`` (a ``multipart/mixed`` answer: a
JSON part, then the file or a ``Location`` to fetch it from), falling back to the legacy
``/_matrix/media/v3/download/{serverName}/{mediaId}?allow_remote=false`` only when the
server does not know the new endpoint, as Synapse does.

The file streams through to a sink (the caller's temporary file) as it arrives; it is
never held in memory, and a file larger than the limit is refused as soon as its size
is known or passes the limit. Errors are Synapse's: a server that cannot be reached,
answers garbage or an error other than 404 is ``502 M_UNKNOWN`` "Failed to fetch remote
media"; its 404 is a 404 (with its errcode); a file too large is ``502 M_TOO_LARGE``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urljoin

import httpx

from glia.errors import MatrixError
from glia.protocol.multipart import (
    MultipartError,
    MultipartReader,
    PartData,
    PartEnd,
    PartStart,
    boundary_of,
)
from glia.services.federation.client import FederationClient, FederationError

logger = logging.getLogger(__name__)

FAILED = "Failed to fetch remote media"
#: Largest error answer or JSON metadata part read.
MAX_JSON_BYTES = 64 * 1024
#: HTTP redirects followed after a ``Location`` part (or from the legacy endpoint).
MAX_REDIRECTS = 5
#: How long the other server may wait for a pending upload (Synapse's default).
REMOTE_WAIT_MS = "20000"

Sink = Callable[[bytes], Awaitable[None]]


@dataclass(frozen=True)
class FetchedMedia:
    content_type: str
    upload_name: str | None
    size: int
    sha256: str


class _UnknownEndpoint(Exception):
    """The server does not have the federation media endpoint (an older server)."""


def _failed() -> MatrixError:
    return MatrixError(502, "M_UNKNOWN", FAILED)


def _too_large(max_size: int) -> MatrixError:
    return MatrixError(502, "M_TOO_LARGE", f"Requested file is too large > {max_size} bytes")


def upload_name(disposition: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` (``filename*`` in UTF-8 first)."""
    if not disposition:
        return None
    plain = None
    for param in disposition.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        name, value = name.strip().lower(), value.strip()
        if name == "filename*" and value.lower().startswith("utf-8''"):
            return unquote(value[7:]) or None
        if name == "filename":
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            plain = value or None
    return plain


class _Writer:
    """Counts, hashes and passes on the file's bytes, refusing more than the limit."""

    def __init__(self, sink: Sink, max_size: int) -> None:
        self._sink = sink
        self.max_size = max_size
        self.size = 0
        self._hash = hashlib.sha256()

    def expect(self, content_length: str | None) -> None:
        """Refuse at once a file that says it is too large."""
        if content_length is not None and content_length.isdigit() \
                and int(content_length) > self.max_size:
            raise _too_large(self.max_size)

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_size:
            raise _too_large(self.max_size)
        self._hash.update(data)
        await self._sink(data)

    def result(self, content_type: str | None, name: str | None) -> FetchedMedia:
        return FetchedMedia(_media_type(content_type), name, self.size,
                            self._hash.hexdigest())


def _media_type(value: str | None) -> str:
    """The type as the server gave it, if it is one we can pass on in a header."""
    value = (value or "").strip()
    if not value or len(value) > 255 or not all(32 <= ord(c) < 127 for c in value):
        return "application/octet-stream"
    return value


async def _small_body(response: httpx.Response) -> bytes:
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) > MAX_JSON_BYTES:
            break
    return data[:MAX_JSON_BYTES]


async def _check_status(response: httpx.Response, *, federation: bool) -> None:
    """Raise for an answer that is not a success: 404 stays 404 (unless it says the
    endpoint is unknown, then the caller falls back), anything else is a failure."""
    if response.status_code // 100 == 2:
        return
    body = await _small_body(response)
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = None
    errcode = parsed.get("errcode") if isinstance(parsed, dict) else None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    status = response.status_code
    # Synapse's rule for "this server does not have the endpoint" (older servers
    # answer 404/405 with no JSON, or 400 M_UNRECOGNIZED).
    if federation and ((status in (404, 405) and (not body.startswith(b"{")
                                                   or errcode == "M_UNRECOGNIZED"))
                       or (status == 400 and errcode == "M_UNRECOGNIZED")):
        raise _UnknownEndpoint
    logger.info("fetching remote media: HTTP %d %s", status, errcode or "")
    if status == 404:
        raise MatrixError(404, errcode if isinstance(errcode, str) else "M_NOT_FOUND",
                          error if isinstance(error, str) else "Not found")
    raise _failed()


class MediaFetcher:
    def __init__(self, client: FederationClient) -> None:
        self._client = client

    async def fetch(self, origin: str, media_id: str, sink: Sink, max_size: int,
                    timeout: float) -> FetchedMedia:
        """Fetch ``mxc://origin/media_id`` into ``sink``, within ``timeout`` seconds in
        all. Raises MatrixError as the module says."""
        writer = _Writer(sink, max_size)
        try:
            async with asyncio.timeout(timeout):
                try:
                    return await self._federation(origin, media_id, writer)
                except _UnknownEndpoint:
                    logger.info("%s has no federation media endpoint: using the legacy"
                                " one", origin)
                if writer.size:
                    raise _failed()
                return await self._legacy(origin, media_id, writer)
        except MatrixError:
            raise
        except ValueError as e:  # an invalid server name, a malformed answer
            logger.info("fetching mxc://%s/%s: %s", origin, media_id, e)
            raise _failed() from e
        except (TimeoutError, FederationError, httpx.HTTPError, OSError) as e:
            logger.info("fetching mxc://%s/%s failed: %s", origin, media_id, e)
            raise _failed() from e

    async def _federation(self, origin: str, media_id: str, writer: _Writer
                          ) -> FetchedMedia:
        path = f"/_matrix/federation/v1/media/download/{quote(media_id, safe='')}"
        async with self._client.stream(origin, path, {"timeout_ms": REMOTE_WAIT_MS}
                                       ) as response:
            await _check_status(response, federation=True)
            boundary = boundary_of(response.headers.get("content-type"))
            if boundary is None:
                raise MultipartError("the answer is not multipart")
            return await self._multipart(response.aiter_bytes(), MultipartReader(boundary),
                                         writer)

    async def _multipart(self, chunks: AsyncIterator[bytes], reader: MultipartReader,
                         writer: _Writer) -> FetchedMedia:
        """The JSON part, then the file part (or its ``Location``, fetched after)."""
        part = 0
        metadata = b""
        file_headers: dict[str, str] = {}
        async for chunk in chunks:
            for piece in reader.feed(chunk):
                if isinstance(piece, PartStart):
                    part += 1
                    if part == 2:
                        file_headers = piece.headers
                    elif part > 2:
                        raise MultipartError("more than two parts")
                elif isinstance(piece, PartData):
                    if part == 1:
                        metadata += piece.data
                        if len(metadata) > MAX_JSON_BYTES:
                            raise MultipartError("the JSON part is too large")
                    elif "location" not in file_headers:
                        await writer.write(piece.data)
                elif isinstance(piece, PartEnd) and part == 1 \
                        and not isinstance(json.loads(metadata), dict):
                    raise MultipartError("the JSON part is not an object")
            if reader.done:
                break  # the epilogue, if any, is not read
        if not reader.done or part != 2:
            raise MultipartError("the answer ended early")
        if "location" in file_headers:
            return await self._redirected(file_headers["location"], writer)
        return writer.result(file_headers.get("content-type"),
                             upload_name(file_headers.get("content-disposition")))

    async def _redirected(self, url: str, writer: _Writer) -> FetchedMedia:
        for _ in range(MAX_REDIRECTS + 1):
            async with self._client.stream_url(url) as response:
                location = response.headers.get("location")
                if response.status_code in (301, 302, 303, 307, 308) and location:
                    url = urljoin(url, location)
                    continue
                return await self._plain(response, writer)
        raise FederationError("too many redirects")

    async def _plain(self, response: httpx.Response, writer: _Writer) -> FetchedMedia:
        """A file answered as itself (a redirect's target, the legacy endpoint)."""
        await _check_status(response, federation=False)
        writer.expect(response.headers.get("content-length"))
        async for chunk in response.aiter_bytes():
            await writer.write(chunk)
        return writer.result(response.headers.get("content-type"),
                             upload_name(response.headers.get("content-disposition")))

    async def _legacy(self, origin: str, media_id: str, writer: _Writer) -> FetchedMedia:
        path = (f"/_matrix/media/v3/download/{quote(origin, safe='')}/"
                f"{quote(media_id, safe='')}")
        async with self._client.stream(origin, path, {
                "allow_remote": "false", "timeout_ms": REMOTE_WAIT_MS,
                "allow_redirect": "true"}) as response:
            location = response.headers.get("location")
            if response.status_code in (301, 302, 307, 308) and location:
                return await self._redirected(
                    urljoin(f"https://{origin}{path}", location), writer)
            return await self._plain(response, writer)
