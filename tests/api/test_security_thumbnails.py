"""Decompression bombs and thumbnail floods through the unauthenticated legacy endpoint.

An attacker uploads images that are tiny on disk (one colour compresses to a few KB) but
huge decoded, then asks for thumbnails — without a token, on the legacy endpoint. An
image over ``media.max_image_pixels`` must be refused from its header, before a pixel is
decoded; many concurrent renders must wait their turn instead of each taking ~80 MB. The
server's peak memory (``VmHWM`` of its process) is the observable effect. The servers run
with ``media.enable_authenticated_media`` off, the configuration in which anyone may ask
the legacy endpoint for thumbnails of fresh uploads.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image

from tests.kit import Kit, assert_error
from tests.server import GliaProcess

LEGACY = "/_matrix/media/v3"
MB = 1024 * 1024
OPEN_LEGACY_PATHS = {"GLIA_MEDIA__ENABLE_AUTHENTICATED_MEDIA": "false"}


def _png(width: int, height: int, mode: str) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (90, 20, 200, 255)[:len(mode)]).save(out, "PNG")
    return out.getvalue()


def _peak_rss(server: GliaProcess) -> int:
    """The server's peak resident memory so far, in bytes."""
    assert server.proc is not None
    with open(f"/proc/{server.proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _upload(kit: Kit, token: str, content: bytes) -> str:
    r = kit.request("POST", f"{LEGACY}/upload", token, content=content,
                    headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    return str(r.json()["content_uri"]).removeprefix("mxc://")


def _thumbnail(base_url: str, mxc: str) -> httpx.Response:
    # No access token: the legacy endpoint is open to anyone.
    return httpx.get(f"{base_url}{LEGACY}/thumbnail/{mxc}?width=320&height=240&method=scale",
                     timeout=120)


def _warm_up(kit: Kit, server: GliaProcess, token: str) -> None:
    """One small thumbnail first, so imports and pools are in place before measuring."""
    assert _thumbnail(server.url, _upload(kit, token, _png(800, 600, "RGB"))).status_code \
        == 200


def test_an_oversized_image_is_refused_before_decoding(
        glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory(OPEN_LEGACY_PATHS)
    kit = Kit(server.url)
    user = kit.register_user()
    _warm_up(kit, server, user.access_token)
    bomb = _png(8000, 5000, "RGB")  # 40 megapixels, 120 MB decoded
    assert len(bomb) < 1 * MB
    mxc = _upload(kit, user.access_token, bomb)
    before = _peak_rss(server)
    started = time.monotonic()
    assert_error(_thumbnail(server.url, mxc), 413, "M_TOO_LARGE")
    elapsed = time.monotonic() - started
    grown = _peak_rss(server) - before
    assert grown < 40 * MB, f"peak RSS grew {grown / MB:.0f} MB: the pixels were decoded"
    assert elapsed < 5, elapsed
    kit.close()


def test_concurrent_renders_are_bounded(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory(OPEN_LEGACY_PATHS)
    kit = Kit(server.url)
    user = kit.register_user()
    _warm_up(kit, server, user.access_token)
    picture = _png(5000, 4000, "RGBA")  # 20 megapixels, 80 MB decoded
    # Eight different uploads: requests for one and the same thumbnail share one render.
    mxcs = [_upload(kit, user.access_token, picture) for _ in range(8)]
    before = _peak_rss(server)
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda mxc: _thumbnail(server.url, mxc), mxcs))
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    assert all(r.headers["content-type"] == "image/png" for r in responses)
    grown = _peak_rss(server) - before
    # A render of this picture peaks at ~160 MB (pixels, plus the premultiplied copy the
    # resize makes): two at a time (the default) stay near 320 MB; unbounded, the eight
    # requests took 1.4 GB.
    assert grown < 450 * MB, f"peak RSS grew {grown / MB:.0f} MB"
    kit.close()
