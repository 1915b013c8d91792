"""Upload, download, thumbnails and config: the legacy ``/_matrix/media/{r0,v3}`` paths
(downloads without authentication) and the authenticated ``/_matrix/client/v1/media``
ones, over one service.

Every file response carries the spec's sandboxing ``Content-Security-Policy`` and
``Cross-Origin-Resource-Policy: cross-origin``, and is ``inline`` only for the content
types the spec lists as safe to render. Bodies are streamed from an open file handle.
URL previews are in ``previews.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import quote

import msgspec
from starlette.responses import Response, StreamingResponse

from glia import errors
from glia.errors import MatrixError
from glia.http.client.responses import EMPTY, Empty
from glia.http.media.ranges import ByteRange, requested_range
from glia.http.parsing import Request, streamed_body
from glia.http.routes import Auth, RouteGroup
from glia.services.media import Media, MediaFile, base_type
from glia.services.media_uploads import CreatedMedia, UploadConfig
from glia.services.remote_media import RemoteMedia

routes = RouteGroup()

LEGACY_VERSIONS = ("r0", "v3")

#: The spec's recommended policy for served content.
CONTENT_SECURITY_POLICY = ("sandbox; default-src 'none'; script-src 'none';"
                           " plugin-types application/pdf; style-src 'unsafe-inline';"
                           " object-src 'self';")
#: Types the spec lets servers serve ``inline`` (no script can run in them).
INLINE_TYPES = frozenset({
    "text/css", "text/plain", "text/csv", "application/json", "application/ld+json",
    "image/jpeg", "image/gif", "image/png", "image/apng", "image/webp", "image/avif",
    "video/mp4", "video/webm", "video/ogg", "video/quicktime", "audio/mp4", "audio/webm",
    "audio/aac", "audio/mpeg", "audio/ogg", "audio/wave", "audio/wav", "audio/x-wav",
    "audio/x-pn-wav", "audio/flac", "audio/x-flac",
})
THUMBNAIL_NAMES = {"image/jpeg": "thumbnail.jpg", "image/png": "thumbnail.png",
                    "image/gif": "thumbnail.gif", "image/webp": "thumbnail.webp",
                    "image/apng": "thumbnail.png"}
#: RFC 2616 separators: a file name containing one cannot be a bare token.
_SEPARATORS = frozenset('()<>@,;:\\"/[]?={} \t')
_READ_SIZE = 256 * 1024


def _media_paths(path: str) -> tuple[str, ...]:
    return tuple(f"/_matrix/media/{v}{path}" for v in LEGACY_VERSIONS)


def _client_media_paths(path: str) -> tuple[str, ...]:
    return (f"/_matrix/client/v1/media{path}",)


# -- responses ------------------------------------------------------------------------------


def content_disposition(kind: str, filename: str | None) -> str:
    """``inline``/``attachment`` with the file name as RFC 6266 allows it: a bare token
    when it is one, a quoted string when it is printable ASCII, else ``filename*`` in
    UTF-8 percent-encoding (RFC 5987)."""
    if not filename:
        return kind
    if all(33 <= ord(c) < 127 and c not in _SEPARATORS for c in filename):
        return f"{kind}; filename={filename}"
    if all(32 <= ord(c) < 127 for c in filename):
        escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
        return f'{kind}; filename="{escaped}"'
    return f"{kind}; filename*=utf-8''{quote(filename, safe='')}"


def _content_type(value: str) -> str:
    """As uploaded; a text type without a charset gets UTF-8 (which the spec allows)."""
    if value.lower().startswith("text/") and "charset=" not in value.lower():
        return f"{value}; charset=UTF-8"
    return value


async def file_chunks(handle: BinaryIO, start: int = 0, length: int | None = None
                  ) -> AsyncIterator[bytes]:
    """The file's bytes from ``start``, ``length`` of them (None: to the end)."""
    try:
        if start:
            await asyncio.to_thread(handle.seek, start)
        left = length
        while left is None or left > 0:
            size = _READ_SIZE if left is None else min(_READ_SIZE, left)
            chunk = await asyncio.to_thread(handle.read, size)
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def file_response(media_file: MediaFile, disposition: str,
                  byte_range: ByteRange | None = None) -> Response:
    """The file, or just ``byte_range`` of it (``206 Partial Content``)."""
    headers = {
        "Content-Type": _content_type(media_file.content_type),
        "Content-Length": str(media_file.size if byte_range is None
                              else byte_range.length),
        "Accept-Ranges": "bytes",
        "Content-Disposition": disposition,
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Robots-Tag": "noindex, nofollow, noarchive, noimageindex",
        "Cache-Control": "public, max-age=86400, s-maxage=86400",
    }
    if byte_range is None:
        return StreamingResponse(file_chunks(media_file.file), headers=headers)
    headers["Content-Range"] = byte_range.content_range
    return StreamingResponse(file_chunks(media_file.file, byte_range.start, byte_range.length),
                             status_code=206, headers=headers)


# -- parameters -----------------------------------------------------------------------------


def _declared_length(req: Request) -> int | None:
    value = req.raw.headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError as e:
        raise errors.unknown("Content-Length value is invalid") from e
    if length < 0:
        raise errors.unknown("Content-Length value is invalid")
    return length


def _bypass_quarantine(req: Request) -> bool:
    """Admins may see quarantined media with ``admin_unsafely_bypass_quarantine=true``."""
    if req.query("admin_unsafely_bypass_quarantine") != "true":
        return False
    if not req.requester.is_admin:
        raise errors.unknown("Must be a server admin to bypass quarantine")
    return True


async def _media(req: Request, *, legacy: bool) -> Media | RemoteMedia:
    """Our item, or the cached copy of another server's (fetched first if need be)."""
    allow_remote = True
    if legacy:
        allow_remote = bool(req.query_bool("allow_remote", True))
        req.query_bool("allow_redirect", False)  # validated; we always answer directly
    bypass = False if legacy else _bypass_quarantine(req)
    server_name = req.path("serverName")
    if server_name != req.services.config.server_name:
        return await req.services.remote_media.get(
            server_name, req.path("mediaId"), allow_remote=allow_remote,
            unauthenticated=legacy, bypass_quarantine=bypass)
    return await req.services.media.local_media(
        server_name, req.path("mediaId"), timeout_ms=req.query_int("timeout_ms"),
        allow_remote=allow_remote, unauthenticated=legacy, bypass_quarantine=bypass)


async def _open(req: Request, media: Media | RemoteMedia) -> MediaFile:
    if isinstance(media, RemoteMedia):
        return await req.services.remote_media.open(media)
    return await req.services.media.open(media)


# -- upload ---------------------------------------------------------------------------------


class ContentUri(msgspec.Struct, frozen=True):
    content_uri: str


@routes.post(*_media_paths("/upload"), auth=Auth.USER, ratelimit="default")
@streamed_body
async def upload(req: Request) -> ContentUri:
    uri = await req.services.media.upload(
        req.requester.user_id, req.raw.headers.get("content-type"), req.query("filename"),
        _declared_length(req), req.stream())
    return ContentUri(uri)


@routes.post("/_matrix/media/v1/create", auth=Auth.USER, ratelimit="default")
async def create(req: Request) -> CreatedMedia:
    return await req.services.media.create(req.requester.user_id)


@routes.put("/_matrix/media/v3/upload/{serverName}/{mediaId}", auth=Auth.USER,
            ratelimit="default")
@streamed_body
async def upload_to(req: Request) -> Empty:
    await req.services.media.upload_to(
        req.requester.user_id, req.path("serverName"), req.path("mediaId"),
        req.raw.headers.get("content-type"), req.query("filename"), _declared_length(req),
        req.stream())
    return EMPTY


# -- download -------------------------------------------------------------------------------


async def _download(req: Request, *, legacy: bool) -> Response:
    media_file = await _open(req, await _media(req, legacy=legacy))
    try:
        byte_range = requested_range(req.raw.headers.get("range"),
                                     req.raw.headers.get("if-range"), media_file.size)
    except MatrixError:
        media_file.file.close()
        raise
    name = req.path_params.get("fileName") or media_file.upload_name
    kind = "inline" if base_type(media_file.content_type) in INLINE_TYPES else "attachment"
    return file_response(media_file, content_disposition(kind, name), byte_range)


@routes.get(*_media_paths("/download/{serverName}/{mediaId}"), auth=Auth.NONE)
async def download_legacy(req: Request) -> Response:
    return await _download(req, legacy=True)


@routes.get(*_media_paths("/download/{serverName}/{mediaId}/{fileName}"), auth=Auth.NONE)
async def download_legacy_named(req: Request) -> Response:
    return await _download(req, legacy=True)


@routes.get(*_client_media_paths("/download/{serverName}/{mediaId}"), auth=Auth.USER)
async def download(req: Request) -> Response:
    return await _download(req, legacy=False)


@routes.get(*_client_media_paths("/download/{serverName}/{mediaId}/{fileName}"),
            auth=Auth.USER)
async def download_named(req: Request) -> Response:
    return await _download(req, legacy=False)


# -- thumbnails -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ThumbnailQuery:
    width: int
    height: int
    method: str
    animated: bool

    @classmethod
    def of(cls, req: Request) -> ThumbnailQuery:
        """The thumbnail parameters of a request (checked before the media is looked
        up, as Synapse does)."""
        width = req.query_int("width", required=True, minimum=1)
        height = req.query_int("height", required=True, minimum=1)
        assert width is not None and height is not None
        method = req.query("method") or "scale"
        if method not in ("crop", "scale"):
            raise errors.invalid_param(
                "Query parameter 'method' must be one of ['crop', 'scale']")
        return cls(width, height, method, bool(req.query_bool("animated", False)))


async def _thumbnail(req: Request, *, legacy: bool) -> Response:
    wanted = ThumbnailQuery.of(req)
    media = await _media(req, legacy=legacy)
    if isinstance(media, RemoteMedia):
        media_file = await req.services.remote_media.thumbnail(
            media, wanted.width, wanted.height, wanted.method, wanted.animated)
    else:
        media_file = await req.services.media.thumbnail(media, wanted.width, wanted.height,
                                                        wanted.method, wanted.animated)
    name = THUMBNAIL_NAMES.get(base_type(media_file.content_type), "thumbnail")
    return file_response(media_file, content_disposition("inline", name))


@routes.get(*_media_paths("/thumbnail/{serverName}/{mediaId}"), auth=Auth.NONE)
async def thumbnail_legacy(req: Request) -> Response:
    return await _thumbnail(req, legacy=True)


@routes.get(*_client_media_paths("/thumbnail/{serverName}/{mediaId}"), auth=Auth.USER)
async def thumbnail(req: Request) -> Response:
    return await _thumbnail(req, legacy=False)


# -- config ---------------------------------------------------------------------------------


@routes.get(*_media_paths("/config"), *_client_media_paths("/config"), auth=Auth.USER)
async def config(req: Request) -> UploadConfig:
    return req.services.media.upload_config()
