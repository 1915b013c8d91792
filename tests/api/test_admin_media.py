"""Media administration over real HTTP, on Synapse's paths: info, quarantine (item, hash,
user, room), protection, deletion (one, by age/size on both paths, a user's page), the
user and room media lists, and the audit rows each write leaves."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User, assert_error, create_room, send_event, unique
from tests.server import GliaProcess

S = "/_synapse/admin/v1"
G = "/_glia/admin/v1"
LEGACY = "/_matrix/media/v3"
AUTHED = "/_matrix/client/v1/media"


def _q(value: str) -> str:
    return quote(value, safe="")


def upload(kit: Kit, user: User, content: bytes, content_type: str = "text/plain",
           filename: str | None = None) -> str:
    path = f"{LEGACY}/upload" + (f"?filename={_q(filename)}" if filename else "")
    r = kit.request("POST", path, user.access_token, content=content,
                    headers={"Content-Type": content_type})
    assert r.status_code == 200, r.text
    return str(r.json()["content_uri"]).rsplit("/", 1)[1]


def ok(kit: Kit, method: str, path: str, admin: User, **kwargs: Any) -> dict[str, Any]:
    r = kit.request(method, path, admin.access_token, **kwargs)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def downloadable(kit: Kit, media_id: str, user: User) -> bool:
    """On the authenticated path: fresh uploads are authenticated, so the legacy path
    never serves them on this server (``test_media_authenticated.py``)."""
    authed = kit.request("GET", f"{AUTHED}/download/localhost/{media_id}", user.access_token)
    if authed.status_code == 404:
        assert authed.json()["errcode"] == "M_NOT_FOUND"
    return authed.status_code == 200


def marker() -> bytes:
    """Bytes no other test uploads (quarantine spreads to every copy of the same bytes)."""
    return unique("bytes").encode()


def audit(kit: Kit, admin: User, action: str) -> list[dict[str, Any]]:
    return list(ok(kit, "GET", f"{G}/audit_log?action={action}&actor={_q(admin.user_id)}",
                   admin)["entries"])


def test_media_info(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    before = int(time.time() * 1000)
    media_id = upload(kit, user, b"hello", filename="hi.txt")
    info = ok(kit, "GET", f"{S}/media/localhost/{media_id}", admin)["media_info"]
    assert info == {
        "media_origin": None, "user_id": user.user_id, "media_id": media_id,
        "media_type": "text/plain", "media_length": 5, "upload_name": "hi.txt",
        "created_ts": info["created_ts"], "filesystem_id": None, "url_cache": None,
        "last_access_ts": None, "quarantined_by": None, "authenticated": True,
        "safe_from_quarantine": False,
        "sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    }
    assert before <= info["created_ts"] <= int(time.time() * 1000)
    assert downloadable(kit, media_id, user)
    info = ok(kit, "GET", f"{G}/media/localhost/{media_id}", admin)["media_info"]
    assert info["last_access_ts"] is not None
    for path in (f"{S}/media/localhost/nosuchmedia", f"{S}/media/other.example/{media_id}"):
        body = assert_error(kit.request("GET", path, admin.access_token), 404, "M_NOT_FOUND")
        assert body["error"] == "Unknown media"


def test_quarantine_and_unquarantine(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    content = b"\x89PNG bad stuff " + marker()
    media_id = upload(kit, user, content, "image/png")
    twin = upload(kit, user, content, "image/png")
    assert ok(kit, "POST", f"{S}/media/quarantine/localhost/{media_id}", admin, json={}) == {}
    assert not downloadable(kit, media_id, user)
    r = kit.request("GET", f"{AUTHED}/thumbnail/localhost/{media_id}?width=32&height=32",
                    user.access_token)
    assert_error(r, 404, "M_NOT_FOUND")
    info = ok(kit, "GET", f"{S}/media/localhost/{media_id}", admin)["media_info"]
    assert info["quarantined_by"] == admin.user_id
    # The same bytes under another ID are quarantined too, and so is a later upload.
    assert not downloadable(kit, twin, user)
    again = upload(kit, user, content, "image/png")
    assert not downloadable(kit, again, user)
    assert ok(kit, "GET", f"{S}/media/localhost/{again}", admin)["media_info"][
        "quarantined_by"] == "system"

    # Admins may still look, on the authenticated path; others may not ask to.
    r = kit.request("GET", f"{AUTHED}/download/localhost/{media_id}"
                    "?admin_unsafely_bypass_quarantine=true", admin.access_token)
    assert r.status_code == 200
    r = kit.request("GET", f"{AUTHED}/download/localhost/{media_id}"
                    "?admin_unsafely_bypass_quarantine=true", user.access_token)
    body = assert_error(r, 400, "M_UNKNOWN")
    assert body["error"] == "Must be a server admin to bypass quarantine"

    assert ok(kit, "POST", f"{S}/media/unquarantine/localhost/{media_id}", admin,
              json={}) == {}
    for item in (media_id, twin, again):
        assert downloadable(kit, item, user)
    # Unknown media and foreign servers: {} and nothing happens (Synapse's answer).
    assert ok(kit, "POST", f"{S}/media/quarantine/localhost/nosuchmedia", admin) == {}
    assert ok(kit, "POST", f"{S}/media/quarantine/other.example/x", admin) == {}
    entries = audit(kit, admin, "media.quarantine")
    assert entries[0]["target"] == "other.example" and entries[0]["outcome"] == "ok"
    assert len(audit(kit, admin, "media.unquarantine")) == 1


def test_protected_media_is_never_quarantined(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    media_id = upload(kit, user, b"family photo " + marker())
    assert ok(kit, "POST", f"{S}/media/protect/{media_id}", admin, json={}) == {}
    assert ok(kit, "GET", f"{S}/media/localhost/{media_id}", admin)["media_info"][
        "safe_from_quarantine"] is True
    ok(kit, "POST", f"{S}/media/quarantine/localhost/{media_id}", admin)
    assert downloadable(kit, media_id, user)
    assert ok(kit, "POST", f"{S}/user/{_q(user.user_id)}/media/quarantine", admin) == \
        {"num_quarantined": 0}
    assert ok(kit, "POST", f"{S}/media/unprotect/{media_id}", admin, json={}) == {}
    ok(kit, "POST", f"{S}/media/quarantine/localhost/{media_id}", admin)
    assert not downloadable(kit, media_id, user)
    assert [e["target"] for e in audit(kit, admin, "media.protect")] == [media_id]
    assert [e["target"] for e in audit(kit, admin, "media.unprotect")] == [media_id]


def test_quarantine_a_users_media(kit: Kit) -> None:
    admin, user, other = kit.make_admin(), kit.register_user(), kit.register_user()
    ids = [upload(kit, user, b"u" + marker()) for _ in range(3)]
    spared = upload(kit, other, b"o" + marker())
    body = ok(kit, "POST", f"{S}/user/{_q(user.user_id)}/media/quarantine", admin, json={})
    assert body == {"num_quarantined": 3}
    assert not any(downloadable(kit, i, user) for i in ids)
    assert downloadable(kit, spared, other)
    # A user's items already quarantined are not theirs to count again (Synapse).
    assert ok(kit, "POST", f"{S}/user/{_q(user.user_id)}/media/quarantine", admin,
              json={}) == {"num_quarantined": 0}
    assert ok(kit, "POST", f"{S}/user/{_q('@nobody:other.example')}/media/quarantine",
              admin) == {"num_quarantined": 0}


def test_room_media_list_and_quarantine(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    room_id = create_room(kit, user)
    image, preview = upload(kit, user, b"i" + marker()), \
        upload(kit, user, b"p" + marker())
    send_event(kit, user, room_id, {
        "msgtype": "m.image", "body": "pic.png", "url": f"mxc://localhost/{image}",
        "info": {"thumbnail_url": f"mxc://localhost/{preview}"}})
    send_event(kit, user, room_id, {"msgtype": "m.file", "body": "remote",
                                    "url": "mxc://other.example/abc"})
    body = ok(kit, "GET", f"{S}/room/{_q(room_id)}/media", admin)
    assert body == {"local": [f"mxc://localhost/{image}", f"mxc://localhost/{preview}"],
                    "remote": ["mxc://other.example/abc"]}
    assert ok(kit, "GET", f"{S}/room/{_q('!unknown:localhost')}/media", admin) == \
        {"local": [], "remote": []}
    body = ok(kit, "POST", f"{S}/room/{_q(room_id)}/media/quarantine", admin, json={})
    assert body == {"num_quarantined": 2}
    assert not downloadable(kit, image, user) and not downloadable(kit, preview, user)
    # The deprecated alias answers the same way: as Synapse, the room's items count
    # again though they already are quarantined.
    assert ok(kit, "POST", f"{S}/quarantine_media/{_q(room_id)}", admin) == \
        {"num_quarantined": 2}


def test_delete_one_item(kit: Kit, glia: GliaProcess) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    media_id = upload(kit, user, b"\x89PNG" + marker(), "image/png")
    stored = (glia.data_dir / "media" / "local_content" / media_id[:2] / media_id[2:4] /
              media_id[4:])
    assert stored.exists()
    body = ok(kit, "DELETE", f"{S}/media/localhost/{media_id}", admin)
    assert body == {"deleted_media": [media_id], "total": 1}
    assert not stored.exists()
    assert not downloadable(kit, media_id, user)
    body = assert_error(kit.request("DELETE", f"{S}/media/localhost/{media_id}",
                                    admin.access_token), 404, "M_NOT_FOUND")
    assert body["error"] == "Unknown media"
    body = assert_error(kit.request("DELETE", f"{S}/media/other.example/{media_id}",
                                    admin.access_token), 400, "M_UNKNOWN")
    assert body["error"] == "Can only delete local media"
    entries = audit(kit, admin, "media.delete")
    assert [(e["target"], e["outcome"]) for e in entries[:3]] == [
        ("other.example", "M_UNKNOWN"), ("localhost", "M_NOT_FOUND"), ("localhost", "ok")]


def test_user_media_list(clock_kit: Kit) -> None:
    kit = clock_kit
    admin, user = kit.make_admin(), kit.register_user()
    ids = []
    for size in (3, 1, 2):
        ids.append(upload(kit, user, os.urandom(size), filename=f"{size}.txt"))
        kit.advance_clock(10)  # so each upload has its own created_ts
    path = f"{S}/users/{_q(user.user_id)}/media"
    body = ok(kit, "GET", path, admin)
    assert body["total"] == 3 and "next_token" not in body
    assert [m["media_id"] for m in body["media"]] == ids[::-1]  # newest first by default
    item = body["media"][0]
    assert set(item) == {"media_id", "media_type", "media_length", "upload_name",
                         "created_ts", "last_access_ts", "quarantined_by",
                         "safe_from_quarantine", "url_cache", "user_id", "authenticated",
                         "sha256"}
    assert item["user_id"] == user.user_id and item["upload_name"] == "2.txt"
    assert item["authenticated"] is True  # uploaded with enable_authenticated_media on
    # dir alone switches to created_ts forwards; order_by alone to forwards too.
    assert [m["media_id"] for m in ok(kit, "GET", f"{path}?dir=f", admin)["media"]] == ids
    lengths = [m["media_length"] for m in
               ok(kit, "GET", f"{path}?order_by=media_length", admin)["media"]]
    assert lengths == [1, 2, 3]
    lengths = [m["media_length"] for m in
               ok(kit, "GET", f"{path}?order_by=media_length&dir=b", admin)["media"]]
    assert lengths == [3, 2, 1]
    page = ok(kit, "GET", f"{path}?limit=2", admin)
    assert len(page["media"]) == 2 and page["next_token"] == 2
    rest = ok(kit, "GET", f"{path}?limit=2&from=2", admin)
    assert [m["media_id"] for m in rest["media"]] == [ids[0]] and "next_token" not in rest

    assert_error(kit.request("GET", f"{path}?order_by=colour", admin.access_token), 400,
                 "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{path}?dir=sideways", admin.access_token), 400,
                 "M_INVALID_PARAM")
    body = assert_error(kit.request("GET", f"{S}/users/{_q('@nobody:localhost')}/media",
                                    admin.access_token), 404, "M_NOT_FOUND")
    assert body["error"] == "Unknown user"
    body = assert_error(kit.request("GET", f"{S}/users/{_q('@x:other.example')}/media",
                                    admin.access_token), 400, "M_UNKNOWN")
    assert body["error"] == "Can only look up local users"


def test_delete_a_users_media(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    ids = [upload(kit, user, b"d" + marker()) for _ in range(3)]
    path = f"{S}/users/{_q(user.user_id)}/media"
    dry = ok(kit, "DELETE", f"{path}?limit=2&dry_run=true", admin)
    assert dry == {"deleted_media": ids[:0:-1], "total": 2, "dry_run": True}
    assert all(downloadable(kit, i, user) for i in ids)
    body = ok(kit, "DELETE", f"{path}?limit=2", admin)
    assert sorted(body["deleted_media"]) == sorted(ids[1:]) and body["total"] == 2
    assert downloadable(kit, ids[0], user)
    assert not downloadable(kit, ids[1], user)
    assert ok(kit, "DELETE", path, admin) == {"deleted_media": [ids[0]], "total": 1}
    assert ok(kit, "GET", path, admin)["total"] == 0
    # The dry run is in the log too (it changed nothing, and says so in its params).
    assert [e["target"] for e in audit(kit, admin, "media.delete_user_media")] == \
        [user.user_id] * 3


def test_delete_by_age_and_size(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory()
    kit = Kit(server.url)
    try:
        admin, user = kit.make_admin(), kit.register_user()
        small = upload(kit, user, b"s")
        big = upload(kit, user, b"b" * 1000)
        avatar = upload(kit, user, b"a" * 1000, "image/png")
        quarantined = upload(kit, user, b"q" * 1000)
        protected = upload(kit, user, b"p" * 1000)
        r = kit.request("PUT", f"/_matrix/client/v3/profile/{_q(user.user_id)}/avatar_url",
                        user.access_token, json={"avatar_url": f"mxc://localhost/{avatar}"})
        assert r.status_code == 200, r.text
        ok(kit, "POST", f"{S}/media/quarantine/localhost/{quarantined}", admin)
        ok(kit, "POST", f"{S}/media/protect/{protected}", admin)
        kit.advance_clock(10)  # ``later`` is created after all the others
        later = upload(kit, user, b"l" * 1000)
        cutoff = ok(kit, "GET", f"{S}/media/localhost/{later}", admin)["media_info"][
            "created_ts"]

        assert_error(kit.request("POST", f"{S}/media/delete", admin.access_token), 400,
                     "M_MISSING_PARAM")
        body = assert_error(kit.request("POST", f"{S}/media/delete?before_ts=1000",
                                        admin.access_token), 400, "M_INVALID_PARAM")
        assert "1970" in body["error"]
        body = assert_error(kit.request("POST", f"{S}/media/other.example/delete?before_ts="
                                        f"{cutoff}", admin.access_token), 400, "M_UNKNOWN")
        assert body["error"] == "Can only delete local media"

        query = f"before_ts={cutoff}&size_gt=10"
        dry = ok(kit, "POST", f"{S}/media/delete?{query}&dry_run=true", admin)
        assert dry == {"deleted_media": [big], "total": 1, "dry_run": True}
        body = ok(kit, "POST", f"{S}/media/delete?{query}", admin)
        assert body == {"deleted_media": [big], "total": 1}
        # keep_profiles=false lets the avatar go too; the legacy path works for ours.
        body = ok(kit, "POST", f"{S}/media/localhost/delete?{query}&keep_profiles=false",
                  admin)
        assert body == {"deleted_media": [avatar], "total": 1}
        for kept in (small, protected, later):
            assert downloadable(kit, kept, user)
        assert not downloadable(kit, big, user) and not downloadable(kit, avatar, user)
        # Downloads count as access: recently seen media is no longer "old".
        assert ok(kit, "POST", f"{S}/media/delete?before_ts={cutoff}", admin) == \
            {"deleted_media": [], "total": 0}
        assert ok(kit, "GET", f"{G}/jobs?kind=media_delete", admin)["total"] == 3
        assert len(audit(kit, admin, "media.delete_old")) == 7
    finally:
        kit.close()
