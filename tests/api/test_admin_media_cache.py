"""Synapse's purge_media_cache over real HTTP, on cached remote media written through
storage and the media service's file layout (nothing fetches remote media before
federation): old copies go with their files, quarantined and recent ones stay."""

from __future__ import annotations

import time
from pathlib import Path

from glia.config import load_config
from glia.services.media import MediaService
from glia.storage import open_storage
from glia.storage.remote_media import RemoteMedia
from tests.kit import Kit, assert_error, unique
from tests.server import GliaProcess

P = "/_synapse/admin/v1/purge_media_cache"
DAY_MS = 86_400_000


async def _cache(glia: GliaProcess, items: list[RemoteMedia]) -> dict[str, tuple[Path, Path]]:
    """Store cached copies (rows, files, a thumbnail each); returns their paths by ID."""
    config = load_config(None, glia.env)
    storage = await open_storage(config, run_migrations=False)
    media = MediaService(config, storage)
    paths = {}
    try:
        for item in items:
            content = media.remote_content_path(item.media_origin, item.media_id)
            thumbs = media.remote_thumbnail_dir(item.media_origin, item.media_id)
            content.parent.mkdir(parents=True, exist_ok=True)
            content.write_bytes(b"x" * item.size)
            thumbs.mkdir(parents=True, exist_ok=True)
            (thumbs / "32-32-crop").write_bytes(b"t")
            await storage.remote_media.insert(item)
            paths[item.media_id] = (content, thumbs)
    finally:
        await storage.close()
    return paths


async def test_purges_old_unquarantined_copies_and_their_files(glia: GliaProcess,
                                                               kit: Kit) -> None:
    admin = kit.make_admin()
    now = int(time.time() * 1000)
    origin = f"{unique('remote')}.example"
    old, older, quarantined, recent = (unique("m") + "abcd" for _ in range(4))
    paths = await _cache(glia, [
        RemoteMedia(origin, old, "image/png", "a.png", 3, now - 9 * DAY_MS, now - 5 * DAY_MS,
                    None),
        RemoteMedia(origin, older, None, None, 4, now - 9 * DAY_MS, now - 8 * DAY_MS, None),
        RemoteMedia(origin, quarantined, None, None, 5, now - 9 * DAY_MS, now - 8 * DAY_MS,
                    admin.user_id),
        RemoteMedia(origin, recent, None, None, 6, now - 9 * DAY_MS, now, None),
    ])
    r = kit.request("POST", f"{P}?before_ts={now - 7 * DAY_MS}", admin.access_token)
    assert r.status_code == 200 and r.json() == {"deleted": 1}, r.text
    assert not paths[older][0].exists() and not paths[older][1].exists()
    assert paths[old][0].exists()
    r = kit.request("POST", f"{P}?before_ts={now - DAY_MS}", admin.access_token, json={})
    assert r.status_code == 200 and r.json() == {"deleted": 1}, r.text
    assert not paths[old][0].exists() and not paths[old][1].exists()
    for kept in (quarantined, recent):
        assert paths[kept][0].exists() and paths[kept][1].exists()
    r = kit.request("POST", f"{P}?before_ts={now - DAY_MS}", admin.access_token)
    assert r.json() == {"deleted": 0}


def test_bad_before_ts(kit: Kit) -> None:
    admin = kit.make_admin()
    assert_error(kit.request("POST", P, admin.access_token), 400, "M_MISSING_PARAM")
    for value in ("1000", "-5", "abc", str(2**63)):
        assert_error(kit.request("POST", f"{P}?before_ts={value}", admin.access_token), 400,
                     "M_INVALID_PARAM")
    user = kit.register_user()
    assert_error(kit.request("POST", f"{P}?before_ts={2**40}", user.access_token), 403,
                 "M_FORBIDDEN")
