"""The content repository over real HTTP: uploads (direct, streamed, async via /create),
downloads on the legacy and authenticated paths with their headers, thumbnails of real
images made with Pillow, limits and bad input. Fresh uploads are authenticated (served
only on ``/_matrix/client/v1/media``); tests of the legacy paths run on a server with
``media.enable_authenticated_media`` off (``test_media_authenticated.py`` has the rule)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from PIL import Image

from tests.kit import Kit, User, assert_error
from tests.server import GliaProcess

LEGACY = "/_matrix/media/v3"
AUTHED = "/_matrix/client/v1/media"
CSP = ("sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf;"
       " style-src 'unsafe-inline'; object-src 'self';")


def png(width: int, height: int, mode: str = "RGBA") -> bytes:
    image = Image.new(mode, (width, height), (200, 30, 60, 128) if mode == "RGBA" else
                      (200, 30, 60))
    for x in range(0, width, 7):  # some detail, so scaling has something to do
        image.putpixel((x, x % height), (0, 0, 0, 255) if mode == "RGBA" else (0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (10, 120, 200))
    out = io.BytesIO()
    if orientation is None:
        image.save(out, "JPEG", quality=90)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def animated_gif(width: int, height: int) -> bytes:
    frames = [Image.new("RGB", (width, height), color)
              for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100,
                   loop=0)
    return out.getvalue()


def upload(kit: Kit, user: User, content: bytes | Iterator[bytes],
           content_type: str | None = "image/png",
           filename: str | None = None, **kwargs: Any) -> tuple[str, str]:
    """Upload; returns (server name, media ID)."""
    headers = {"Content-Type": content_type} if content_type else {}
    path = f"{LEGACY}/upload"
    if filename is not None:
        path += f"?filename={quote(filename, safe='')}"
    r = kit.request("POST", path, user.access_token, content=content, headers=headers,
                    **kwargs)
    assert r.status_code == 200, r.text
    uri = r.json()["content_uri"]
    assert uri.startswith("mxc://")
    server, media_id = uri.removeprefix("mxc://").split("/")
    return server, media_id


def image_of(response: httpx.Response) -> Image.Image:
    return Image.open(io.BytesIO(response.content))


@pytest.fixture(scope="module")
def user(kit: Kit) -> User:
    return kit.register_user()


# -- upload and download ---------------------------------------------------------------------


def test_upload_then_download_on_both_paths(legacy_media_kit: Kit) -> None:
    kit = legacy_media_kit
    user = kit.register_user()
    content = png(40, 20)
    server, media_id = upload(kit, user, content, filename="cat.png")
    assert server == "localhost" and len(media_id) == 24

    legacy = kit.request("GET", f"{LEGACY}/download/{server}/{media_id}")
    authed = kit.request("GET", f"{AUTHED}/download/{server}/{media_id}", user.access_token)
    for r in (legacy, authed):
        assert r.status_code == 200, r.text
        assert r.content == content
        assert r.headers["content-type"] == "image/png"
        assert r.headers["content-length"] == str(len(content))
        assert r.headers["content-disposition"] == "inline; filename=cat.png"
        assert r.headers["content-security-policy"] == CSP
        assert r.headers["cross-origin-resource-policy"] == "cross-origin"
        assert r.headers["access-control-allow-origin"] == "*"
    # r0 is served too, for old clients, and thumbnails on both paths.
    assert kit.request("GET", f"/_matrix/media/r0/download/{server}/{media_id}").content \
        == content
    for with_token in (False, True):
        r = thumb(kit, user, server, media_id, "width=32&height=32&method=crop", with_token)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/png"
        assert image_of(r).size == (20, 20)  # the square crop of a 40x20 image


def test_authenticated_download_needs_a_token(kit: Kit, user: User) -> None:
    server, media_id = upload(kit, user, b"secret", "text/plain")
    assert_error(kit.request("GET", f"{AUTHED}/download/{server}/{media_id}"), 401,
                 "M_MISSING_TOKEN")
    assert_error(kit.request("GET", f"{AUTHED}/thumbnail/{server}/{media_id}?width=1&height=1"),
                 401, "M_MISSING_TOKEN")


def test_file_name_in_path_overrides_upload_name(legacy_media_kit: Kit) -> None:
    kit = legacy_media_kit
    user = kit.register_user()
    server, media_id = upload(kit, user, b"%PDF-1.4", "application/pdf", filename="a.pdf")
    for path in (f"{LEGACY}/download/{server}/{media_id}/other%20name.pdf",
                 f"{AUTHED}/download/{server}/{media_id}/other%20name.pdf"):
        r = kit.request("GET", path, user.access_token)
        assert r.status_code == 200, r.text
        # Not a type the spec lets us serve inline; a space needs a quoted string.
        assert r.headers["content-disposition"] == 'attachment; filename="other name.pdf"'


@pytest.mark.parametrize(("content_type", "disposition"), [
    ("text/plain", "inline"), ("image/jpeg", "inline"), ("video/mp4", "inline"),
    ("text/html", "attachment"), ("image/svg+xml", "attachment"),
    ("application/javascript", "attachment"), ("application/octet-stream", "attachment"),
])
def test_inline_only_for_safe_types(kit: Kit, user: User, content_type: str,
                                    disposition: str) -> None:
    server, media_id = upload(kit, user, b"<script>alert(1)</script>", content_type)
    r = kit.request("GET", f"{AUTHED}/download/{server}/{media_id}", user.access_token)
    assert r.status_code == 200
    assert r.headers["content-disposition"] == disposition
    assert r.headers["content-type"].startswith(content_type)
    assert r.headers["x-content-type-options"] == "nosniff"


def test_text_gets_a_charset(kit: Kit, user: User) -> None:
    server, media_id = upload(kit, user, "héllo".encode(), "text/plain")
    r = kit.request("GET", f"{AUTHED}/download/{server}/{media_id}", user.access_token)
    assert r.headers["content-type"] == "text/plain; charset=UTF-8"


def test_non_ascii_file_name_is_rfc6266_encoded(kit: Kit, user: User) -> None:
    server, media_id = upload(kit, user, b"x", "text/plain", filename="naïve café.txt")
    r = kit.request("GET", f"{AUTHED}/download/{server}/{media_id}", user.access_token)
    assert r.headers["content-disposition"] == \
        "inline; filename*=utf-8''na%C3%AFve%20caf%C3%A9.txt"


def test_upload_without_content_type_is_octet_stream(kit: Kit, user: User) -> None:
    server, media_id = upload(kit, user, b"\x00\x01binary", content_type=None)
    r = kit.request("GET", f"{AUTHED}/download/{server}/{media_id}", user.access_token)
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"] == "attachment"


def test_empty_upload(kit: Kit, user: User) -> None:
    server, media_id = upload(kit, user, b"", "text/plain")
    r = kit.request("GET", f"{AUTHED}/download/{server}/{media_id}", user.access_token)
    assert r.status_code == 200 and r.content == b""


def test_head_gives_headers_only(kit: Kit, user: User) -> None:
    server, media_id = upload(kit, user, b"12345", "text/plain")
    r = kit.request("HEAD", f"{AUTHED}/download/{server}/{media_id}", user.access_token)
    assert r.status_code == 200
    assert r.headers["content-length"] == "5" and r.content == b""


def test_large_upload_is_not_held_to_the_json_limit(kit: Kit, user: User) -> None:
    content = bytes(range(256)) * (3 * 4096)  # 3 MiB, three times max_request_size
    server, media_id = upload(kit, user, content, "application/octet-stream")
    r = kit.request("GET", f"{AUTHED}/download/{server}/{media_id}", user.access_token)
    assert r.content == content


def test_chunked_upload(kit: Kit, user: User) -> None:
    def body() -> Iterator[bytes]:
        for i in range(10):
            yield bytes([i]) * 100_000

    server, media_id = upload(kit, user, body(), "application/octet-stream")
    r = kit.request("GET", f"{AUTHED}/download/{server}/{media_id}", user.access_token)
    assert r.content == b"".join(bytes([i]) * 100_000 for i in range(10))


def test_file_is_stored_under_the_data_dir_without_leftovers(kit: Kit, user: User,
                                                             glia: GliaProcess) -> None:
    content = b"stored bytes"
    _, media_id = upload(kit, user, content, "text/plain")
    stored = (glia.data_dir / "media" / "local_content" / media_id[:2] / media_id[2:4]
              / media_id[4:])
    assert stored.read_bytes() == content
    assert not [p for p in (glia.data_dir / "media" / "tmp").iterdir()
                if p.name.startswith("upload-")]


def test_unknown_and_remote_media_are_not_found(kit: Kit, user: User) -> None:
    """The legacy paths never fetch authenticated remote media; the authenticated path
    asks only servers the domain allow-list names (the test server's names none but
    loopback ones): another is 403, as in Synapse. Fetching: test_federation_media."""
    for path in (f"{LEGACY}/download/localhost/doesnotexist",
                 f"{LEGACY}/download/other.example/abc",
                 f"{LEGACY}/download/other.example/abc?allow_remote=false",
                 f"{LEGACY}/download/localhost/..%2F..%2Fetc",
                 f"{LEGACY}/thumbnail/other.example/abc?width=32&height=32"):
        assert_error(kit.request("GET", path), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{AUTHED}/download/other.example/abc", user.access_token),
                 403, "M_FORBIDDEN")
    assert_error(kit.request("GET", f"{LEGACY}/download/localhost/abc?allow_remote=maybe"),
                 400, "M_INVALID_PARAM")


def test_config_on_both_paths(kit: Kit, user: User) -> None:
    for path in (f"{LEGACY}/config", f"{AUTHED}/config"):
        r = kit.request("GET", path, user.access_token)
        assert r.status_code == 200, r.text
        assert r.json() == {"m.upload.size": 50 * 1024 * 1024}
        assert_error(kit.request("GET", path), 401, "M_MISSING_TOKEN")


def test_upload_needs_a_token(kit: Kit) -> None:
    assert_error(kit.request("POST", f"{LEGACY}/upload", content=b"x"), 401,
                 "M_MISSING_TOKEN")
    assert_error(kit.request("POST", "/_matrix/media/v1/create"), 401, "M_MISSING_TOKEN")


def test_bad_upload_input(kit: Kit, user: User) -> None:
    r = kit.request("POST", f"{LEGACY}/upload?filename=a%00b", user.access_token,
                    content=b"x")
    assert_error(r, 400, "M_INVALID_PARAM")
    # URL previews are off by default: 404 M_UNRECOGNIZED, as Synapse answers then.
    assert_error(kit.request("GET", f"{AUTHED}/preview_url?url=https://example.org",
                             user.access_token), 404, "M_UNRECOGNIZED")


# -- size limits -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_server(new_database_url: Callable[[], str]) -> Iterator[tuple[Kit, GliaProcess]]:
    """A server with tiny media limits and a one-second expiry for /create IDs."""
    server = GliaProcess(new_database_url(), {
        "GLIA_MEDIA__MAX_UPLOAD_SIZE": "1000", "GLIA_MEDIA__MAX_IMAGE_PIXELS": "10000",
        "GLIA_MEDIA__UNUSED_EXPIRATION": "1",
    }).start()
    kit = Kit(server.url)
    yield kit, server
    kit.close()
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-5000:]


def test_upload_size_limit(small_server: tuple[Kit, GliaProcess]) -> None:
    kit, _ = small_server
    user = kit.register_user()
    upload(kit, user, b"x" * 1000, "text/plain")
    r = kit.request("POST", f"{LEGACY}/upload", user.access_token, content=b"x" * 1001)
    body = assert_error(r, 413, "M_TOO_LARGE")
    assert body["error"] == "Upload request body is too large"
    assert kit.request("GET", f"{AUTHED}/config", user.access_token).json() == \
        {"m.upload.size": 1000}

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit applies as it streams
        for _ in range(4):
            yield b"y" * 500

    r = kit.request("POST", f"{LEGACY}/upload", user.access_token, content=chunked())
    assert_error(r, 413, "M_TOO_LARGE")


def test_images_over_the_pixel_limit_are_not_thumbnailed(
        small_server: tuple[Kit, GliaProcess]) -> None:
    kit, _ = small_server
    user = kit.register_user()
    server, media_id = upload(kit, user, png(8, 8, "RGB"))
    r = thumb(kit, user, server, media_id, "width=4&height=4")
    assert r.status_code == 200, r.text
    # 150 x 80 = 12,000 pixels > 10,000 (a PNG that small stays under 1000 bytes).
    big = png(150, 80, "RGB")
    assert len(big) <= 1000
    server, media_id = upload(kit, user, big)
    r = thumb(kit, user, server, media_id, "width=32&height=32")
    assert_error(r, 413, "M_TOO_LARGE")


def test_unused_ids_expire(small_server: tuple[Kit, GliaProcess]) -> None:
    kit, _ = small_server
    user = kit.register_user()
    r = kit.request("POST", "/_matrix/media/v1/create", user.access_token)
    server, media_id = r.json()["content_uri"].removeprefix("mxc://").split("/")
    kit.advance_clock(1200)
    r = kit.request("PUT", f"{LEGACY}/upload/{server}/{media_id}", user.access_token,
                    content=b"late")
    assert_error(r, 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{LEGACY}/download/{server}/{media_id}?timeout_ms=0"),
                 404, "M_NOT_FOUND")


# -- async upload ----------------------------------------------------------------------------


def create(kit: Kit, user: User) -> tuple[str, str, dict[str, Any]]:
    r = kit.request("POST", "/_matrix/media/v1/create", user.access_token)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    server, media_id = body["content_uri"].removeprefix("mxc://").split("/")
    return server, media_id, body


def test_async_upload(kit: Kit) -> None:
    owner, other = kit.register_user(), kit.register_user()
    before = int(time.time() * 1000)
    server, media_id, body = create(kit, owner)
    day = 24 * 3600 * 1000
    assert before + day <= body["unused_expires_at"] <= int(time.time() * 1000) + day
    path = f"{LEGACY}/upload/{server}/{media_id}"

    r = kit.request("GET", f"{AUTHED}/download/{server}/{media_id}?timeout_ms=0",
                    owner.access_token)
    assert_error(r, 504, "M_NOT_YET_UPLOADED")
    assert_error(kit.request("PUT", path, other.access_token, content=b"x"), 403,
                 "M_FORBIDDEN")
    r = kit.request("PUT", f"{path}?filename=late.txt", owner.access_token, content=b"at last",
                    headers={"Content-Type": "text/plain"})
    assert r.status_code == 200 and r.json() == {}, r.text
    assert_error(kit.request("PUT", path, owner.access_token, content=b"again"), 409,
                 "M_CANNOT_OVERWRITE_MEDIA")
    r = kit.request("GET", f"{AUTHED}/download/{server}/{media_id}", owner.access_token)
    assert r.content == b"at last"
    assert r.headers["content-disposition"] == "inline; filename=late.txt"


def test_async_upload_bad_targets(kit: Kit, user: User) -> None:
    assert_error(kit.request("PUT", f"{LEGACY}/upload/localhost/nosuchmedia",
                             user.access_token, content=b"x"), 404, "M_NOT_FOUND")
    _, media_id, _ = create(kit, user)
    assert_error(kit.request("PUT", f"{LEGACY}/upload/other.example/{media_id}",
                             user.access_token, content=b"x"), 404, "M_NOT_FOUND")


def test_download_waits_for_a_pending_upload(kit: Kit) -> None:
    owner = kit.register_user()
    server, media_id, _ = create(kit, owner)
    result: dict[str, httpx.Response] = {}

    def download() -> None:
        with httpx.Client(base_url=kit.base_url, timeout=30) as client:
            result["r"] = client.get(f"{AUTHED}/download/{server}/{media_id}?timeout_ms=15000",
                                     headers={"Authorization": f"Bearer {owner.access_token}"})

    waiter = threading.Thread(target=download)
    waiter.start()
    # Lets the download arrive first and wait (what is under test); it cannot be observed
    # from outside, and if it came late the test would pass without testing the wait.
    time.sleep(0.5)
    r = kit.request("PUT", f"{LEGACY}/upload/{server}/{media_id}", owner.access_token,
                    content=b"worth the wait", headers={"Content-Type": "text/plain"})
    assert r.status_code == 200, r.text
    waiter.join(20)
    assert result["r"].status_code == 200 and result["r"].content == b"worth the wait"


def test_pending_uploads_are_limited(kit: Kit) -> None:
    owner = kit.register_user()
    for _ in range(5):
        create(kit, owner)
    r = kit.request("POST", "/_matrix/media/v1/create", owner.access_token)
    body = assert_error(r, 429, "M_LIMIT_EXCEEDED")
    assert 0 < body["retry_after_ms"] <= 24 * 3600 * 1000
    # Another user is not affected.
    create(kit, kit.register_user())


# -- thumbnails ------------------------------------------------------------------------------


def thumb(kit: Kit, user: User, server: str, media_id: str, query: str,
          authed: bool = True) -> httpx.Response:
    base = AUTHED if authed else LEGACY
    return kit.request("GET", f"{base}/thumbnail/{server}/{media_id}?{query}",
                       user.access_token if authed else None)


def test_png_thumbnails(kit: Kit, user: User) -> None:
    server, media_id = upload(kit, user, png(1000, 500))
    r = thumb(kit, user, server, media_id, "width=32&height=32&method=crop")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == "inline; filename=thumbnail.png"
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    image = image_of(r)
    assert image.size == (32, 32) and image.mode == "RGBA"  # transparency kept

    # scale keeps the aspect ratio; 320x240 is the smallest pre-defined size that holds it.
    r = thumb(kit, user, server, media_id, "width=300&height=100&method=scale")
    assert image_of(r).size == (320, 160)
    # A crop larger than the biggest pre-defined crop: never smaller than asked.
    width, height = image_of(thumb(kit, user, server, media_id,
                                   "width=200&height=150&method=crop")).size
    assert width >= 200 and height >= 150
    # The same request again is answered from the stored thumbnail, byte for byte.
    first = thumb(kit, user, server, media_id, "width=640&height=480")
    assert image_of(first).size == (640, 320)
    assert thumb(kit, user, server, media_id, "width=640&height=480").content == first.content


def test_jpeg_thumbnails(kit: Kit, user: User) -> None:
    server, media_id = upload(kit, user, jpeg(1200, 900), "image/jpeg")
    r = thumb(kit, user, server, media_id, "width=96&height=96&method=crop")
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["content-disposition"] == "inline; filename=thumbnail.jpg"
    assert image_of(r).format == "JPEG" and image_of(r).size == (96, 96)
    r = thumb(kit, user, server, media_id, "width=800&height=600&method=scale")
    assert image_of(r).size == (800, 600)


def test_exif_orientation_is_applied(kit: Kit, user: User) -> None:
    # Stored 400x200, displayed 200x400 (orientation 6: rotate 90 degrees).
    server, media_id = upload(kit, user, jpeg(400, 200, orientation=6), "image/jpeg")
    r = thumb(kit, user, server, media_id, "width=320&height=240&method=scale")
    assert image_of(r).size == (120, 240)


def test_small_image_is_returned_as_it_is(kit: Kit, user: User) -> None:
    content = png(20, 10)
    server, media_id = upload(kit, user, content)
    r = thumb(kit, user, server, media_id, "width=96&height=96&method=crop")
    assert r.status_code == 200 and r.content == content


def test_animated_thumbnails(kit: Kit, user: User) -> None:
    content = animated_gif(400, 300)
    server, media_id = upload(kit, user, content, "image/gif")
    # animated=true: we make no animated thumbnails, so the original is the answer.
    r = thumb(kit, user, server, media_id, "width=32&height=32&animated=true")
    assert r.status_code == 200 and r.content == content
    assert r.headers["content-type"] == "image/gif"
    # Otherwise a still image, never an animated one (also when it is small).
    for query in ("width=32&height=32", "width=32&height=32&animated=false",
                  "width=1000&height=1000"):
        image = image_of(thumb(kit, user, server, media_id, query))
        assert image.format == "PNG" and not getattr(image, "is_animated", False)
    # A still image with animated=true is thumbnailed as usual.
    server, media_id = upload(kit, user, png(400, 300))
    r = thumb(kit, user, server, media_id, "width=32&height=32&method=crop&animated=true")
    assert image_of(r).size == (32, 32)


def test_thumbnails_of_non_images(kit: Kit, user: User) -> None:
    server, media_id = upload(kit, user, b"%PDF-1.4", "application/pdf")
    assert_error(thumb(kit, user, server, media_id, "width=32&height=32"), 400, "M_UNKNOWN")
    server, media_id = upload(kit, user, b"not really a png", "image/png")
    assert_error(thumb(kit, user, server, media_id, "width=32&height=32"), 400, "M_UNKNOWN")
    assert_error(thumb(kit, user, "localhost", "nosuchmedia", "width=32&height=32"), 404,
                 "M_NOT_FOUND")


@pytest.mark.parametrize(("query", "errcode"), [
    ("height=32", "M_MISSING_PARAM"), ("width=32", "M_MISSING_PARAM"),
    ("width=-1&height=32", "M_INVALID_PARAM"), ("width=0&height=32", "M_INVALID_PARAM"),
    ("width=abc&height=32", "M_INVALID_PARAM"), ("width=32&height=32&method=stretch",
                                                 "M_INVALID_PARAM"),
    ("width=32&height=32&animated=yes", "M_INVALID_PARAM"),
])
def test_bad_thumbnail_parameters(kit: Kit, user: User, query: str, errcode: str) -> None:
    server, media_id = upload(kit, user, png(64, 64))
    assert_error(thumb(kit, user, server, media_id, query), 400, errcode)


def test_thumbnails_are_stored_under_the_data_dir(kit: Kit, user: User,
                                                  glia: GliaProcess) -> None:
    server, media_id = upload(kit, user, png(500, 500))
    assert thumb(kit, user, server, media_id, "width=32&height=32&method=crop").status_code \
        == 200
    folder = Path(glia.data_dir / "media" / "local_thumbnails" / media_id[:2] /
                  media_id[2:4] / media_id[4:])
    assert [p.name for p in folder.iterdir()] == ["32-32-crop"]
