"""URL previews (``GET /_matrix/client/v1/media/preview_url`` and the legacy path).

The server fetches a URL a user names, so this is an SSRF surface; the rules:

- Off unless ``media.url_preview_enabled`` (then ``404 M_UNRECOGNIZED``, as Synapse).
- Only ``http``/``https``. Every connection — the page, each redirect, the image — goes
  through :mod:`glia.services.pinned_http`: the host is resolved once and *every* address
  must be allowed by ``url_preview_ip_range_whitelist`` or outside
  ``url_preview_ip_range_blacklist`` (IPv4-mapped IPv6 addresses are judged as IPv4),
  and the connection goes to those very addresses.
- Bounded: at most ``max_spider_size`` bytes read (announced or received), at most five
  redirects, ``url_preview_timeout`` seconds for the whole fetch.

The answer is OpenGraph: an HTML page's ``og:*`` metadata (``preview_html``), its
``og:image`` fetched under the same rules and stored as local media (``og:image`` becomes
its ``mxc://`` URI, with ``og:image:type``, ``og:image:width``/``height`` and
``matrix:image:size``; clients thumbnail it through the media API). A URL that is itself
an image is previewed as that image. Answers are cached per URL for ``url_preview_cache_lifetime``;
``ts`` picks the preview of an earlier time while it has not expired (as Synapse).
Failures to fetch are ``502 M_UNKNOWN`` (``M_TOO_LARGE`` for a body over the limit);
Synapse answers some of them 500, which Glia keeps for its own bugs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from glia import errors
from glia.clock import Clock
from glia.config_services import UrlPreviewConfig
from glia.errors import MatrixError
from glia.services.media import MediaService, base_type
from glia.services.pinned_http import (
    BlockedAddress,
    IPAddress,
    PinnedBackend,
    PinnedTransport,
)
from glia.services.preview_html import decode_html, open_graph, prune
from glia.storage import Storage

__all__ = ["UrlPreviewService"]

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
#: Connections the preview client keeps at once.
MAX_CONNECTIONS = 20
USER_AGENT = "Glia URL preview (bot)"
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class _Fetched:
    url: str
    content_type: str
    body: bytes
    filename: str | None


class _AddressRules:
    """The blacklist and whitelist, parsed once."""

    def __init__(self, config: UrlPreviewConfig) -> None:
        self._blocked = [ipaddress.ip_network(n, strict=False)
                         for n in config.url_preview_ip_range_blacklist]
        self._allowed = [ipaddress.ip_network(n, strict=False)
                         for n in config.url_preview_ip_range_whitelist]

    def __call__(self, address: IPAddress) -> bool:
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            candidates.append(address.ipv4_mapped)
        if any(a in n for a in candidates for n in self._allowed if a.version == n.version):
            return True
        return not any(a in n for a in candidates for n in self._blocked
                       if a.version == n.version)


def _is_web_url(url: str) -> bool:
    """An absolute http(s) URL with a host (and, if any, a valid port)."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _filename(disposition: str | None) -> str | None:
    if not disposition:
        return None
    message = Message()
    message["content-disposition"] = disposition
    name = message.get_filename()
    return name or None


class UrlPreviewService:
    def __init__(self, config: UrlPreviewConfig, storage: Storage, media: MediaService,
                 clock: Clock) -> None:
        self._config = config
        self._storage = storage
        self._media = media
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        #: Previews being made in this process, so simultaneous requests fetch once.
        self._in_flight: dict[str, asyncio.Task[dict[str, Any]]] = {}

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            backend = PinnedBackend(_AddressRules(self._config))
            self._client = httpx.AsyncClient(
                transport=PinnedTransport(backend, MAX_CONNECTIONS),
                follow_redirects=True, max_redirects=MAX_REDIRECTS,
                timeout=httpx.Timeout(self._config.url_preview_timeout),
                headers={"User-Agent": USER_AGENT})
        return self._client

    async def preview(self, user_id: str, url: str, ts: int | None) -> dict[str, Any]:
        if not self._config.url_preview_enabled:
            raise MatrixError(404, "M_UNRECOGNIZED", "Unrecognized request")
        if not _is_web_url(url):
            raise errors.invalid_param("url must be an absolute http or https URL")
        now = self._clock.now_ms()
        at = now if ts is None else ts
        cached = await self._storage.url_previews.at(url, at)
        if cached is not None and cached.expires_ts > at:
            return cached.og
        task = self._in_flight.get(url)
        if task is None:
            task = asyncio.ensure_future(self._make(user_id, url))
            self._in_flight[url] = task
            task.add_done_callback(lambda _: self._in_flight.pop(url, None))
        return await asyncio.shield(task)

    async def _make(self, user_id: str, url: str) -> dict[str, Any]:
        page = await self._fetch(url)
        kind = base_type(page.content_type)
        if kind.startswith("image/"):
            og = await self._store_image(user_id, page)
            if page.filename:
                og["og:description"] = page.filename
        elif kind in _HTML_TYPES:
            og = open_graph(decode_html(page.body, page.content_type))
            image = og.pop("og:image", None)
            if isinstance(image, str) and image:
                try:
                    image_url = urljoin(page.url, image)
                except ValueError:  # not a URL at all
                    image_url = ""
                og.update(await self._image_of_page(user_id, image_url))
        else:
            og = {}
        og = prune(og)
        now = self._clock.now_ms()
        expires = now + int(self._config.url_preview_cache_lifetime * 1000)
        async with self._storage.transaction() as tx:
            await tx.url_previews.delete_expired(now)
            await tx.url_previews.add(url, now, expires, og)
        return og

    async def _image_of_page(self, user_id: str, image_url: str) -> dict[str, Any]:
        """The page's image stored as media, or nothing if it cannot be (as Synapse, a
        failed image does not fail the preview)."""
        if not _is_web_url(image_url):
            return {}
        try:
            image = await self._fetch(image_url)
        except MatrixError as e:
            logger.info("URL preview: image %s not fetched: %s", image_url, e.error)
            return {}
        if not base_type(image.content_type).startswith("image/"):
            return {}
        try:
            return await self._store_image(user_id, image)
        except MatrixError as e:
            logger.info("URL preview: image %s not stored: %s", image_url, e.error)
            return {}

    async def _store_image(self, user_id: str, image: _Fetched) -> dict[str, Any]:
        async def body() -> AsyncIterator[bytes]:
            yield image.body

        mxc = await self._media.upload(user_id, image.content_type, image.filename,
                                       len(image.body), body())
        og: dict[str, Any] = {"og:image": mxc, "og:image:type": base_type(image.content_type),
                              "matrix:image:size": len(image.body)}
        size = await self._media.dimensions(mxc.rsplit("/", 1)[1])
        if size is not None:
            og["og:image:width"], og["og:image:height"] = size
        return og

    async def _fetch(self, url: str) -> _Fetched:
        limit = self._config.max_spider_size
        try:
            async with asyncio.timeout(self._config.url_preview_timeout):
                return await self._download(url, limit)
        except BlockedAddress as e:
            logger.info("URL preview of %s refused: %s is a blocked address", url, e.host)
            if e.is_literal:
                raise MatrixError(403, "M_UNKNOWN",
                                  "IP address blocked by IP blacklist entry") from e
            raise MatrixError(502, "M_UNKNOWN",
                              "DNS resolution failure during URL preview generation") from e
        except TimeoutError as e:
            raise MatrixError(502, "M_UNKNOWN", "Timed out fetching the URL") from e
        except httpx.TooManyRedirects as e:
            raise MatrixError(502, "M_UNKNOWN", "Too many redirects") from e
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as e:
            logger.info("URL preview of %s failed: %r", url, e)
            raise MatrixError(502, "M_UNKNOWN", "Failed to download content") from e

    async def _download(self, url: str, limit: int) -> _Fetched:
        async with self._http().stream("GET", url) as response:
            if response.status_code > 299:
                raise MatrixError(502, "M_UNKNOWN", f"Got error {response.status_code}")
            content_type = response.headers.get("content-type") or "application/octet-stream"
            kind = base_type(content_type)
            if not (kind.startswith("image/") or kind in _HTML_TYPES):
                raise MatrixError(502, "M_UNKNOWN", "Requested file's content type not"
                                  " allowed for this operation")
            announced = response.headers.get("content-length", "")
            if announced.isdigit() and int(announced) > limit:
                raise _too_large(limit)
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
            return _Fetched(str(response.url), content_type, b"".join(chunks),
                            _filename(response.headers.get("content-disposition")))


def _too_large(limit: int) -> MatrixError:
    return MatrixError(502, "M_TOO_LARGE", f"Requested file is too large > {limit} bytes")
