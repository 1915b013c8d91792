"""Synapse's ``_allow_cross_signing_replacement_without_uia`` over real HTTP: the window
it opens (ten minutes on the server's clock), that ``/keys/device_signing/upload`` then
replaces the master key without UIA, and that it demands UIA again once the window has
passed or has been used."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.api.test_keys import SIGNING_UPLOAD, CrossSigning, query
from tests.kit import Kit, User, assert_error

WINDOW_MS = 10 * 60 * 1000


def allow_path(user_id: str) -> str:
    return (f"/_synapse/admin/v1/users/{quote(user_id, safe='')}"
            "/_allow_cross_signing_replacement_without_uia")


def upload(kit: Kit, user: User, body: dict[str, Any]) -> int:
    return kit.request("POST", SIGNING_UPLOAD, user.access_token, json=body).status_code


def master_of(kit: Kit, user: User) -> dict[str, str]:
    keys: dict[str, str] = query(kit, user, {user.user_id: []})["master_keys"][
        user.user_id]["keys"]
    return keys


def test_window_allows_one_replacement_without_uia(clock_kit: Kit) -> None:
    kit = clock_kit
    admin, alice = kit.make_admin(), kit.register_user()
    assert upload(kit, alice, CrossSigning(alice).upload_body()) == 200
    assert upload(kit, alice, CrossSigning(alice).upload_body()) == 401  # UIA needed

    before = kit.server_now()
    r = kit.request("POST", allow_path(alice.user_id), admin.access_token, json={})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"updatable_without_uia_before_ms"}
    end = r.json()["updatable_without_uia_before_ms"]
    assert before + WINDOW_MS <= end <= kit.server_now() + WINDOW_MS

    new = CrossSigning(alice)
    assert upload(kit, alice, new.upload_body()) == 200
    assert master_of(kit, alice) == {f"ed25519:{new.master_pub}": new.master_pub}
    # The window covered that replacement; the next one needs UIA again.
    assert upload(kit, alice, CrossSigning(alice).upload_body()) == 401


def test_window_closes_after_ten_minutes(clock_kit: Kit) -> None:
    kit = clock_kit
    admin, bob = kit.make_admin(), kit.register_user()
    first = CrossSigning(bob)
    assert upload(kit, bob, first.upload_body()) == 200
    # An empty body is accepted too.
    r = kit.request("POST", allow_path(bob.user_id), admin.access_token)
    assert r.status_code == 200, r.text
    kit.advance_clock(WINDOW_MS + 1)
    assert upload(kit, bob, CrossSigning(bob).upload_body()) == 401
    assert master_of(kit, bob) == {f"ed25519:{first.master_pub}": first.master_pub}


def test_unknown_user_or_no_master_key_is_404(kit: Kit) -> None:
    admin, carol = kit.make_admin(), kit.register_user()
    assert_error(kit.request("POST", allow_path("@nobody-here:localhost"),
                             admin.access_token, json={}), 404, "M_NOT_FOUND")
    assert_error(kit.request("POST", allow_path("@someone:remote.example"),
                             admin.access_token, json={}), 404, "M_NOT_FOUND")
    assert_error(kit.request("POST", allow_path(carol.user_id), admin.access_token,
                             json={}), 404, "M_NOT_FOUND")
    # Without a master key there was no window, so the first upload is the usual one.
    assert upload(kit, carol, CrossSigning(carol).upload_body()) == 200


def test_bad_body_is_refused(kit: Kit) -> None:
    admin = kit.make_admin()
    r = kit.request("POST", allow_path(admin.user_id), admin.access_token, content=b"[1]",
                    headers={"Content-Type": "application/json"})
    assert_error(r, 400, "M_BAD_JSON")
    r = kit.request("POST", allow_path(admin.user_id), admin.access_token, content=b"{",
                    headers={"Content-Type": "application/json"})
    assert_error(r, 400, "M_NOT_JSON")


def test_audited(kit: Kit) -> None:
    admin, dave = kit.make_admin(), kit.register_user()
    assert upload(kit, dave, CrossSigning(dave).upload_body()) == 200
    assert kit.request("POST", allow_path(dave.user_id), admin.access_token,
                       json={}).status_code == 200
    r = kit.request("GET", "/_glia/admin/v1/audit_log?action=users.allow_cross_signing_"
                    f"replacement&target={quote(dave.user_id, safe='')}", admin.access_token)
    assert r.status_code == 200 and len(r.json()["entries"]) == 1, r.text
