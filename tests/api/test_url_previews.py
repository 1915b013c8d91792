"""URL previews (client-server spec, "Content repository": ``GET preview_url``), with
Synapse's configuration and refusals: off by default, OpenGraph read from the page, its
image stored as media, cached per URL, and — the SSRF guard — no connection to an address
in ``url_preview_ip_range_blacklist`` (loopback by default) unless the whitelist allows
it, judged by the resolved IP, redirects included.

The page server listens on 127.0.0.2, which the test server's whitelist allows; a second
one on 127.0.0.1 stands for a private service the server must not reach."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from tests.kit import Kit, User, assert_error
from tests.server import GliaProcess

AUTHED = "/_matrix/client/v1/media/preview_url"
LEGACY = "/_matrix/media/v3/preview_url"
SPIDER_LIMIT = 64 * 1024


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


PNG = _png(40, 30)


class PageServer:
    """A small web server on a loopback address, counting the requests per path."""

    def __init__(self, address: str, pages: dict[str, tuple[int, dict[str, str], bytes]]
                 ) -> None:
        self.pages = pages
        self.hits: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                if self.path == "/slow":
                    time.sleep(3)
                status, headers, body = server.pages.get(self.path, (404, {}, b"no"))
                body = body.replace(b"{base}", server.base.encode())
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v.replace("{base}", server.base))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((address, 0), Handler)
        self.base = f"http://{address}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


HTML = {"Content-Type": "text/html; charset=utf-8"}
PAGE = b"""<!doctype html><html><head>
<meta property="og:title" content="The title &amp; more">
<meta property="og:description" content="A description">
<meta property="og:image" content="/img.png">
<meta property="og:site_name" content="Example">
<title>Not this one</title></head><body><img src="/other.png"></body></html>"""
PLAIN = """<html><head><meta charset="iso-8859-1"><title>  Café
 page </title><meta name="description" content="Plain description"></head>
<body><p>text</p><img src="{base}/img.png"></body></html>""".encode("iso-8859-1")


@pytest.fixture(scope="module")
def private_site() -> Iterator[PageServer]:
    """A service on 127.0.0.1 (blacklisted): the server must never reach it."""
    site = PageServer("127.0.0.1", {"/page": (200, HTML, PAGE), "/img.png":
                                    (200, {"Content-Type": "image/png"}, PNG)})
    yield site
    site.close()


@pytest.fixture(scope="module")
def site(private_site: PageServer) -> Iterator[PageServer]:
    private_port = private_site.base.rsplit(":", 1)[1]
    site = PageServer("127.0.0.2", {
        "/page": (200, HTML, PAGE),
        "/plain": (200, {"Content-Type": "text/html"}, PLAIN),
        "/img.png": (200, {"Content-Type": "image/png"}, PNG),
        "/photo": (200, {"Content-Type": "image/png",
                         "Content-Disposition": 'inline; filename="photo.png"'}, PNG),
        "/cached": (200, HTML, b"<title>cached</title>"),
        "/private-image": (200, HTML, f'<meta property="og:title" content="t">'
                           f'<meta property="og:image" content="{private_site.base}/img.png">'
                           .encode()),
        "/to-private": (302, {"Location": f"{private_site.base}/page"}, b""),
        "/to-localhost": (302, {"Location": f"http://localhost:{private_port}/page"}, b""),
        "/to-page": (301, {"Location": "/page"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/big": (200, HTML, b"<title>x</title>" + b" " * (SPIDER_LIMIT + 1)),
        "/text": (200, {"Content-Type": "text/plain"}, b"plain text"),
        "/slow": (200, HTML, b"<title>slow</title>"),
    })
    yield site
    site.close()


@pytest.fixture(scope="module")
def preview_kit(new_database_url: Callable[[], str]) -> Iterator[Kit]:
    server = GliaProcess(new_database_url(), {
        "GLIA_MEDIA__URL_PREVIEW_ENABLED": "true",
        "GLIA_MEDIA__URL_PREVIEW_IP_RANGE_WHITELIST": "127.0.0.2/32",
        "GLIA_MEDIA__MAX_SPIDER_SIZE": str(SPIDER_LIMIT),
        "GLIA_MEDIA__URL_PREVIEW_TIMEOUT": "1.5",
    }).start()
    kit = Kit(server.url)
    yield kit
    kit.close()
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-5000:]


@pytest.fixture(scope="module")
def user(preview_kit: Kit) -> User:
    return preview_kit.register_user()


def preview(kit: Kit, user: User, url: str, path: str = AUTHED, **params: Any) -> Any:
    return kit.request("GET", path, user.access_token, params={"url": url, **params})


def test_off_by_default(kit: Kit) -> None:
    user = kit.register_user()
    for path in (AUTHED, LEGACY):
        assert_error(preview(kit, user, "https://example.org", path), 404, "M_UNRECOGNIZED")


def test_open_graph_and_image_stored_as_media(preview_kit: Kit, user: User,
                                              site: PageServer) -> None:
    for path in (AUTHED, LEGACY):
        r = preview(preview_kit, user, f"{site.base}/page", path)
        assert r.status_code == 200, r.text
        og = r.json()
        assert og["og:title"] == "The title & more"
        assert og["og:description"] == "A description"
        assert og["og:site_name"] == "Example"
        assert og["og:image"].startswith("mxc://")
        assert og["og:image:type"] == "image/png"
        assert og["matrix:image:size"] == len(PNG)
        assert (og["og:image:width"], og["og:image:height"]) == (40, 30)
    # The image is served, and thumbnailed, by the media API.
    media = og["og:image"].removeprefix("mxc://")
    r = preview_kit.request("GET", f"/_matrix/client/v1/media/download/{media}",
                            user.access_token)
    assert r.status_code == 200 and r.content == PNG
    r = preview_kit.request("GET", f"/_matrix/client/v1/media/thumbnail/{media}",
                            user.access_token, params={"width": 32, "height": 32})
    assert r.status_code == 200, r.text


def test_html_fallbacks_and_charset(preview_kit: Kit, user: User, site: PageServer) -> None:
    r = preview(preview_kit, user, f"{site.base}/plain")
    assert r.status_code == 200, r.text
    og = r.json()
    assert og["og:title"] == "Café page"
    assert og["og:description"] == "Plain description"
    assert og["og:image"].startswith("mxc://")


def test_an_image_url_previews_as_the_image(preview_kit: Kit, user: User,
                                            site: PageServer) -> None:
    og = preview(preview_kit, user, f"{site.base}/photo").json()
    assert og["og:image:type"] == "image/png" and og["og:description"] == "photo.png"
    assert og["og:image"].startswith("mxc://") and og["og:image:width"] == 40


def test_cached_per_url(preview_kit: Kit, user: User, site: PageServer) -> None:
    first = preview(preview_kit, user, f"{site.base}/cached")
    assert first.json() == {"og:title": "cached"}
    again = preview(preview_kit, user, f"{site.base}/cached")
    assert again.json() == first.json()
    assert site.hits["/cached"] == 1
    # Past the cache lifetime (an hour), the page is fetched again.
    now = preview_kit.advance_clock(3_601_000)
    assert preview(preview_kit, user, f"{site.base}/cached").json() == {"og:title": "cached"}
    assert site.hits["/cached"] == 2
    # A ts within the first fetch's lifetime is answered from the cache.
    preview(preview_kit, user, f"{site.base}/cached", ts=now - 3_600_000)
    assert site.hits["/cached"] == 2
    assert_error(preview(preview_kit, user, f"{site.base}/cached", ts="soon"), 400,
                 "M_INVALID_PARAM")


def test_redirects_are_followed(preview_kit: Kit, user: User, site: PageServer) -> None:
    og = preview(preview_kit, user, f"{site.base}/to-page").json()
    assert og["og:title"] == "The title & more"
    assert_error(preview(preview_kit, user, f"{site.base}/loop"), 502, "M_UNKNOWN")


def test_blocked_addresses_are_never_reached(preview_kit: Kit, user: User, site: PageServer,
                                            private_site: PageServer) -> None:
    port = private_site.base.rsplit(":", 1)[1]
    # The private address itself, by IP: 403 as Synapse answers.
    assert_error(preview(preview_kit, user, f"{private_site.base}/page"), 403, "M_UNKNOWN")
    # A name that resolves to it: refused on the resolved address.
    assert_error(preview(preview_kit, user, f"http://localhost:{port}/page"), 502,
                 "M_UNKNOWN")
    # A whitelisted page redirecting there, by address or by name.
    assert_error(preview(preview_kit, user, f"{site.base}/to-private"), 403, "M_UNKNOWN")
    assert_error(preview(preview_kit, user, f"{site.base}/to-localhost"), 502, "M_UNKNOWN")
    # A page whose og:image is there: previewed without the image.
    og = preview(preview_kit, user, f"{site.base}/private-image").json()
    assert og == {"og:title": "t"}
    assert private_site.hits == {}


def test_bounded_size_time_and_type(preview_kit: Kit, user: User, site: PageServer) -> None:
    assert_error(preview(preview_kit, user, f"{site.base}/big"), 502, "M_TOO_LARGE")
    assert_error(preview(preview_kit, user, f"{site.base}/text"), 502, "M_UNKNOWN")
    assert_error(preview(preview_kit, user, f"{site.base}/missing"), 502, "M_UNKNOWN")
    started = time.monotonic()
    assert_error(preview(preview_kit, user, f"{site.base}/slow"), 502, "M_UNKNOWN")
    assert time.monotonic() - started < 3


def test_bad_requests(preview_kit: Kit, user: User) -> None:
    assert_error(preview_kit.request("GET", AUTHED, user.access_token), 400,
                 "M_MISSING_PARAM")
    for url in ("ftp://example.org/x", "file:///etc/passwd", "not a url", "http://"):
        assert_error(preview(preview_kit, user, url), 400, "M_INVALID_PARAM")
    assert_error(preview_kit.request("GET", AUTHED, params={"url": "http://x"}), 401,
                 "M_MISSING_TOKEN")
