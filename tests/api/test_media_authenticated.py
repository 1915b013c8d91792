"""Authenticated media, as Synapse 1.120+ has it: with ``media.enable_authenticated_media``
on (the default) an item is stored as ``authenticated`` and, while the option stays on,
the legacy unauthenticated download and thumbnail paths answer ``404 M_NOT_FOUND`` for
it; the authenticated ``/_matrix/client/v1/media`` paths serve it. Items stored while
the option was off stay unauthenticated and are served on both. The admin API reports
the stored flag."""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import quote

import pytest
from nio import AsyncClient, MemoryDownloadResponse, ThumbnailResponse, UploadResponse
from PIL import Image

from tests.kit import Kit, User, assert_error
from tests.server import GliaProcess

S = "/_synapse/admin/v1"
AUTHED = "/_matrix/client/v1/media"
LEGACY_PATHS = ("/_matrix/media/v3/download/{}", "/_matrix/media/r0/download/{}",
                "/_matrix/media/v3/download/{}/name.png",
                "/_matrix/media/r0/download/{}/name.png",
                "/_matrix/media/v3/thumbnail/{}?width=32&height=32",
                "/_matrix/media/r0/thumbnail/{}?width=32&height=32&method=crop")
AUTHED_PATHS = (f"{AUTHED}/download/{{}}", f"{AUTHED}/download/{{}}/name.png",
                f"{AUTHED}/thumbnail/{{}}?width=32&height=32")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 160, 90)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


def upload(kit: Kit, user: User) -> str:
    """A direct upload; returns ``server/media_id``."""
    r = kit.request("POST", "/_matrix/media/v3/upload", user.access_token, content=PNG,
                    headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    return str(r.json()["content_uri"]).removeprefix("mxc://")


def upload_via_create(kit: Kit, user: User) -> str:
    """``POST /create`` then ``PUT`` the content; returns ``server/media_id``."""
    r = kit.request("POST", "/_matrix/media/v1/create", user.access_token)
    assert r.status_code == 200, r.text
    target = str(r.json()["content_uri"]).removeprefix("mxc://")
    r = kit.request("PUT", f"/_matrix/media/v3/upload/{target}", user.access_token,
                    content=PNG, headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    return target


def flag(kit: Kit, admin: User, target: str) -> bool:
    """``authenticated`` as the admin media info and the user media list report it."""
    r = kit.request("GET", f"{S}/media/{target}", admin.access_token)
    assert r.status_code == 200, r.text
    info = r.json()["media_info"]
    r = kit.request("GET", f"{S}/users/{quote(info['user_id'], safe='')}/media?limit=100",
                    admin.access_token)
    assert r.status_code == 200, r.text
    listed = {m["media_id"]: m["authenticated"] for m in r.json()["media"]}
    assert listed[info["media_id"]] is info["authenticated"]
    return bool(info["authenticated"])


def served_legacy(kit: Kit, target: str) -> bool:
    """Whether every legacy path serves the item (all or none do: asserted)."""
    statuses = []
    for path in LEGACY_PATHS:
        r = kit.request("GET", path.format(target))
        if r.status_code == 404:
            body = assert_error(r, 404, "M_NOT_FOUND")
            assert body["error"] == "Not found"  # Synapse's NotFoundError()
        else:
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "image/png"
        statuses.append(r.status_code)
    assert len(set(statuses)) == 1, statuses
    return statuses[0] == 200


def served_authed(kit: Kit, user: User, target: str) -> bool:
    for path in AUTHED_PATHS:
        r = kit.request("GET", path.format(target), user.access_token)
        if r.status_code != 200:
            return False
        assert r.headers["content-type"] == "image/png"
    return True


@pytest.mark.parametrize("store", [upload, upload_via_create])
def test_uploads_are_authenticated_by_default(kit: Kit,
                                              store: Callable[[Kit, User], str]) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    target = store(kit, user)
    assert flag(kit, admin, target) is True
    assert not served_legacy(kit, target)
    assert served_authed(kit, user, target)
    # Any user's token will do on the authenticated paths, not only the uploader's.
    assert served_authed(kit, kit.register_user(), target)


@pytest.mark.parametrize("store", [upload, upload_via_create])
def test_uploads_with_the_option_off_are_served_on_both_paths(
        legacy_media_kit: Kit, store: Callable[[Kit, User], str]) -> None:
    kit = legacy_media_kit
    admin, user = kit.make_admin(), kit.register_user()
    target = store(kit, user)
    assert flag(kit, admin, target) is False
    assert served_legacy(kit, target)
    assert served_authed(kit, user, target)


def test_the_flag_is_kept_when_the_option_changes(
        glia_factory: Callable[..., GliaProcess]) -> None:
    """The flag is how the item was stored; the legacy paths refuse authenticated items
    only while the option is on (turning it off opens them again, as in Synapse)."""
    server = glia_factory({"GLIA_MEDIA__ENABLE_AUTHENTICATED_MEDIA": "false"})
    kit = Kit(server.url)
    admin, user = kit.make_admin(), kit.register_user()
    before = upload(kit, user)
    # An ID reserved while the option is off keeps that when the content comes later.
    r = kit.request("POST", "/_matrix/media/v1/create", user.access_token)
    reserved = str(r.json()["content_uri"]).removeprefix("mxc://")
    kit.close()

    server.stop()
    server.env["GLIA_MEDIA__ENABLE_AUTHENTICATED_MEDIA"] = "true"
    server.start()
    kit = Kit(server.url)
    r = kit.request("PUT", f"/_matrix/media/v3/upload/{reserved}", user.access_token,
                    content=PNG, headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    after = upload(kit, user)
    assert (flag(kit, admin, before), flag(kit, admin, reserved),
            flag(kit, admin, after)) == (False, False, True)
    assert served_legacy(kit, before) and served_legacy(kit, reserved)
    assert not served_legacy(kit, after)
    assert served_authed(kit, user, after)
    kit.close()

    server.stop()
    server.env["GLIA_MEDIA__ENABLE_AUTHENTICATED_MEDIA"] = "false"
    server.start()
    kit = Kit(server.url)
    assert flag(kit, admin, after) is True
    assert served_legacy(kit, after)
    kit.close()


async def test_matrix_nio_round_trip(glia: GliaProcess, kit: Kit) -> None:
    """matrix-nio uploads, then downloads and thumbnails on the authenticated paths (with
    its token in the query string): what a real client does with the option on."""
    admin, user = kit.make_admin(), kit.register_user()
    client = AsyncClient(glia.url, user.user_id, device_id=user.device_id)
    client.access_token = user.access_token
    try:
        uploaded, _ = await client.upload(io.BytesIO(PNG), "image/png", "cat.png",
                                          filesize=len(PNG))
        assert isinstance(uploaded, UploadResponse), uploaded
        got = await client.download(uploaded.content_uri)
        assert isinstance(got, MemoryDownloadResponse), got
        assert got.body == PNG and got.filename == "cat.png"
        target = uploaded.content_uri.removeprefix("mxc://")
        server, media_id = target.split("/")
        thumb = await client.thumbnail(server, media_id, 32, 32)
        assert isinstance(thumb, ThumbnailResponse), thumb
        assert thumb.content_type == "image/png"
    finally:
        await client.close()
    assert flag(kit, admin, target) is True
    assert not served_legacy(kit, target)
