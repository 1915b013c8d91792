"""Media downloads honour HTTP ``Range`` (RFC 9110 §14; players seek in videos with it)
on the legacy and the authenticated download paths: one range is ``206`` with
``Content-Range``, a range past the end ``416``, and what a server may ignore (several
ranges, ``If-Range``, a header that is no byte range) gets the whole file. The item is
stored with ``media.enable_authenticated_media`` off, so the legacy path serves it."""

from __future__ import annotations

import os

import pytest

from tests.kit import Kit, User

DATA = os.urandom(1000)


@pytest.fixture(scope="module")
def uploaded(legacy_media_kit: Kit) -> tuple[Kit, User, str]:
    kit = legacy_media_kit
    user = kit.register_user()
    r = kit.request("POST", "/_matrix/media/v3/upload?filename=clip.mp4", user.access_token,
                    content=DATA, headers={"Content-Type": "video/mp4"})
    assert r.status_code == 200, r.text
    return kit, user, r.json()["content_uri"].removeprefix("mxc://")


PATHS = ["/_matrix/media/v3/download/{}", "/_matrix/client/v1/media/download/{}",
         "/_matrix/client/v1/media/download/{}/clip.mp4"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-99", 0, 99),
    ("bytes=900-", 900, 999),
    ("bytes=-10", 990, 999),
    ("bytes=990-5000", 990, 999),  # an end past the file is cut to it
    ("bytes=-5000", 0, 999),  # a suffix longer than the file is all of it
    ("Bytes = 10 - 10", 10, 10),
])
def test_single_range_is_partial_content(uploaded: tuple[Kit, User, str], path: str,
                                         header: str, start: int, end: int) -> None:
    kit, user, media = uploaded
    r = kit.request("GET", path.format(media), user.access_token, headers={"Range": header})
    assert r.status_code == 206, r.text
    assert r.content == DATA[start:end + 1]
    assert r.headers["content-range"] == f"bytes {start}-{end}/1000"
    assert r.headers["content-length"] == str(end - start + 1)
    assert r.headers["content-type"] == "video/mp4"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_range_is_416(uploaded: tuple[Kit, User, str], path: str,
                                    header: str) -> None:
    kit, user, media = uploaded
    r = kit.request("GET", path.format(media), user.access_token, headers={"Range": header})
    assert r.status_code == 416, r.text
    assert r.headers["content-range"] == "bytes */1000"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("headers", [
    {},
    {"Range": "bytes=0-9,20-29"},  # several ranges: no multipart answers
    {"Range": "bytes=0-9", "If-Range": '"some-etag"'},  # nothing to compare it with
    {"Range": "items=0-9"},
    {"Range": "bytes=20-10"},
    {"Range": "bytes=abc"},
])
def test_ignored_ranges_get_the_whole_file(uploaded: tuple[Kit, User, str], path: str,
                                           headers: dict[str, str]) -> None:
    kit, user, media = uploaded
    r = kit.request("GET", path.format(media), user.access_token, headers=headers)
    assert r.status_code == 200, r.text
    assert r.content == DATA
    assert r.headers["accept-ranges"] == "bytes"
    assert "content-range" not in r.headers
