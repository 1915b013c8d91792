"""/profile/{userId} and its displayname / avatar_url fields."""

from __future__ import annotations

import pytest

from tests.kit import Kit, assert_error

PROFILE = "/_matrix/client/v3/profile"


def test_default_displayname_is_localpart(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.http.get(f"{PROFILE}/{user.user_id}")
    assert r.status_code == 200
    assert r.json() == {"displayname": user.user_id[1:].split(":")[0]}


def test_put_and_get_displayname(kit: Kit) -> None:
    user = kit.register_user()
    path = f"{PROFILE}/{user.user_id}/displayname"
    r = kit.request("PUT", path, user.access_token, json={"displayname": "Alice Ünïcode 🐝"})
    assert r.status_code == 200 and r.json() == {}
    assert kit.http.get(path).json() == {"displayname": "Alice Ünïcode 🐝"}
    assert kit.http.get(f"{PROFILE}/{user.user_id}").json()["displayname"] == "Alice Ünïcode 🐝"
    # Authenticated reads see the same.
    assert kit.request("GET", path, user.access_token).json() == {
        "displayname": "Alice Ünïcode 🐝"}


def test_put_and_get_avatar_url(kit: Kit) -> None:
    user = kit.register_user()
    path = f"{PROFILE}/{user.user_id}/avatar_url"
    assert kit.http.get(path).json() == {}
    r = kit.request("PUT", path, user.access_token, json={"avatar_url": "mxc://localhost/abc"})
    assert r.status_code == 200 and r.json() == {}
    assert kit.http.get(path).json() == {"avatar_url": "mxc://localhost/abc"}
    profile = kit.http.get(f"{PROFILE}/{user.user_id}").json()
    assert profile["avatar_url"] == "mxc://localhost/abc"
    assert "displayname" in profile


def test_clear_displayname(kit: Kit) -> None:
    user = kit.register_user()
    path = f"{PROFILE}/{user.user_id}/displayname"
    kit.request("PUT", path, user.access_token, json={"displayname": "Temp"})
    r = kit.request("PUT", path, user.access_token, json={"displayname": ""})
    assert r.status_code == 200
    assert "displayname" not in kit.http.get(f"{PROFILE}/{user.user_id}").json()


def test_user_id_path_is_percent_encoded(kit: Kit) -> None:
    user = kit.register_user()
    encoded = user.user_id.replace("@", "%40").replace(":", "%3A")
    r = kit.http.get(f"{PROFILE}/{encoded}/displayname")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("field", ["displayname", "avatar_url"])
def test_cannot_set_another_users_profile(kit: Kit, field: str) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    value = "mxc://localhost/x" if field == "avatar_url" else "Not Bob"
    r = kit.request("PUT", f"{PROFILE}/{bob.user_id}/{field}", alice.access_token,
                    json={field: value})
    assert_error(r, 403, "M_FORBIDDEN")
    assert kit.http.get(f"{PROFILE}/{bob.user_id}").json().get(field) != value


@pytest.mark.parametrize("field", ["displayname", "avatar_url"])
def test_put_needs_a_token(kit: Kit, field: str) -> None:
    user = kit.register_user()
    r = kit.http.put(f"{PROFILE}/{user.user_id}/{field}", json={field: "x"})
    assert_error(r, 401, "M_MISSING_TOKEN")


@pytest.mark.parametrize("suffix", ["", "/displayname", "/avatar_url"])
def test_unknown_user(kit: Kit, suffix: str) -> None:
    assert_error(kit.http.get(f"{PROFILE}/@nobody-at-all:localhost{suffix}"), 404, "M_NOT_FOUND")


@pytest.mark.parametrize("suffix", ["", "/displayname", "/avatar_url"])
@pytest.mark.parametrize("bad", ["not-a-user-id", "@nodomain", "@:localhost", "%40a%3Ab%3A%3A"])
def test_bad_user_id(kit: Kit, suffix: str, bad: str) -> None:
    r = kit.http.get(f"{PROFILE}/{bad}{suffix}")
    assert r.status_code == 400, (bad, r.text)
    assert r.json()["errcode"] == "M_INVALID_PARAM"


def test_bad_user_id_on_put(kit: Kit) -> None:
    admin = kit.make_admin()
    r = kit.request("PUT", f"{PROFILE}/not-a-user/displayname", admin.access_token,
                    json={"displayname": "x"})
    assert_error(r, 400, "M_INVALID_PARAM")


def test_too_long_displayname(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("PUT", f"{PROFILE}/{user.user_id}/displayname", user.access_token,
                    json={"displayname": "x" * 257})
    assert r.status_code == 400, r.text
    # The longest allowed one is fine.
    r = kit.request("PUT", f"{PROFILE}/{user.user_id}/displayname", user.access_token,
                    json={"displayname": "x" * 256})
    assert r.status_code == 200, r.text


def test_too_long_avatar_url(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("PUT", f"{PROFILE}/{user.user_id}/avatar_url", user.access_token,
                    json={"avatar_url": "mxc://localhost/" + "x" * 1000})
    assert r.status_code == 400, r.text
