"""Authenticated federation media: ``/_matrix/federation/v1/media/download`` and
``/thumbnail``, by which other servers fetch our users' uploads. The answer is
``multipart/mixed`` with two parts, as the spec says: a JSON part with the media's
metadata (an empty object, all the spec defines) and the file itself with its type and
disposition. Only our own media is served; quarantined or unknown media is 404."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

from starlette.responses import Response, StreamingResponse

from glia.http.media.media import (
    INLINE_TYPES,
    THUMBNAIL_NAMES,
    ThumbnailQuery,
    content_disposition,
    file_chunks,
)
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, federation_paths
from glia.services.media import Media, MediaFile, base_type

routes = RouteGroup()


def multipart_response(media_file: MediaFile, disposition: str) -> Response:
    """The spec's two-part answer, streamed from the open file."""
    boundary = secrets.token_hex(16)
    head = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n"
            f"--{boundary}\r\nContent-Type: {media_file.content_type}\r\n"
            f"Content-Disposition: {disposition}\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for chunk in file_chunks(media_file.file):
            yield chunk
        yield tail

    return StreamingResponse(body(), headers={
        "Content-Type": f"multipart/mixed; boundary={boundary}",
        "Content-Length": str(len(head) + media_file.size + len(tail))})


async def _media(req: Request) -> Media:
    return await req.services.media.local_media(
        req.services.config.server_name, req.path("mediaId"),
        timeout_ms=req.query_int("timeout_ms"), allow_remote=False,
        bypass_quarantine=False)


@routes.get(*federation_paths("/media/download/{mediaId}"), auth=Auth.SERVER)
async def download(req: Request) -> Response:
    media_file = await req.services.media.open(await _media(req))
    kind = "inline" if base_type(media_file.content_type) in INLINE_TYPES else "attachment"
    return multipart_response(media_file, content_disposition(kind, media_file.upload_name))


@routes.get(*federation_paths("/media/thumbnail/{mediaId}"), auth=Auth.SERVER)
async def thumbnail(req: Request) -> Response:
    wanted = ThumbnailQuery.of(req)
    media_file = await req.services.media.thumbnail(
        await _media(req), wanted.width, wanted.height, wanted.method, wanted.animated)
    name = THUMBNAIL_NAMES.get(base_type(media_file.content_type), "thumbnail")
    return multipart_response(media_file, content_disposition("inline", name))
