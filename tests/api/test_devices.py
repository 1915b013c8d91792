"""/devices list/get/put/delete and /delete_devices (behind user-interactive auth)."""

from __future__ import annotations

from typing import Any

from tests.kit import PASSWORD, Kit, User, assert_error

DEVICES = "/_matrix/client/v3/devices"
WHOAMI = "/_matrix/client/v3/account/whoami"


def password_auth(user: User, session: str | None = None, password: str = PASSWORD
                  ) -> dict[str, Any]:
    auth: dict[str, Any] = {"type": "m.login.password", "password": password,
                            "identifier": {"type": "m.id.user", "user": user.user_id}}
    if session:
        auth["session"] = session
    return auth


def device_ids(kit: Kit, user: User) -> list[str]:
    r = kit.request("GET", DEVICES, user.access_token)
    assert r.status_code == 200, r.text
    return sorted(d["device_id"] for d in r.json()["devices"])


def test_list(kit: Kit) -> None:
    user = kit.register_user()
    second = kit.login(user.user_id, device_id="SECONDDEV")
    r = kit.request("GET", DEVICES, user.access_token)
    assert r.status_code == 200
    devices = {d["device_id"]: d for d in r.json()["devices"]}
    assert set(devices) == {user.device_id, second.device_id}
    for d in devices.values():
        assert set(d) >= {"device_id", "display_name", "last_seen_ip", "last_seen_ts"}
    # Other users' devices are not listed.
    stranger = kit.register_user()
    assert device_ids(kit, stranger) == [stranger.device_id]


def test_get(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("GET", f"{DEVICES}/{user.device_id}", user.access_token)
    assert r.status_code == 200, r.text
    assert r.json()["device_id"] == user.device_id


def test_get_unknown_device(kit: Kit) -> None:
    user = kit.register_user()
    assert_error(kit.request("GET", f"{DEVICES}/NOSUCHDEVICE", user.access_token),
                 404, "M_NOT_FOUND")


def test_cannot_see_another_users_device(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    assert_error(kit.request("GET", f"{DEVICES}/{bob.device_id}", alice.access_token),
                 404, "M_NOT_FOUND")
    assert_error(kit.request("PUT", f"{DEVICES}/{bob.device_id}", alice.access_token,
                             json={"display_name": "pwned"}), 404, "M_NOT_FOUND")


def test_put_display_name(kit: Kit) -> None:
    user = kit.register_user()
    path = f"{DEVICES}/{user.device_id}"
    r = kit.request("PUT", path, user.access_token, json={"display_name": "My Phone"})
    assert r.status_code == 200 and r.json() == {}
    assert kit.request("GET", path, user.access_token).json()["display_name"] == "My Phone"
    # An empty body changes nothing.
    assert kit.request("PUT", path, user.access_token, json={}).status_code == 200
    assert kit.request("GET", path, user.access_token).json()["display_name"] == "My Phone"


def test_put_unknown_device(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("PUT", f"{DEVICES}/NOSUCHDEVICE", user.access_token,
                    json={"display_name": "x"})
    assert_error(r, 404, "M_NOT_FOUND")


def test_device_id_with_special_characters(kit: Kit) -> None:
    user = kit.register_user()
    other = kit.login(user.user_id, device_id="dev/with%slash")
    r = kit.request("GET", f"{DEVICES}/dev%2Fwith%25slash", user.access_token)
    assert r.status_code == 200, r.text
    assert r.json()["device_id"] == other.device_id


def test_delete_device_with_uia(kit: Kit) -> None:
    user = kit.register_user()
    other = kit.login(user.user_id)
    path = f"{DEVICES}/{other.device_id}"
    r = kit.request("DELETE", path, user.access_token)
    assert r.status_code == 401, r.text
    session = r.json()["session"]
    assert {"stages": ["m.login.password"]} in r.json()["flows"]
    r = kit.request("DELETE", path, user.access_token,
                    json={"auth": password_auth(user, session, "wrong")})
    assert r.status_code == 401 and r.json()["errcode"] == "M_FORBIDDEN"
    assert kit.request("GET", WHOAMI, other.access_token).status_code == 200
    r = kit.request("DELETE", path, user.access_token,
                    json={"auth": password_auth(user, session)})
    assert r.status_code == 200 and r.json() == {}
    assert device_ids(kit, user) == [user.device_id]
    assert_error(kit.request("GET", WHOAMI, other.access_token), 401, "M_UNKNOWN_TOKEN")


def test_delete_unknown_device(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("DELETE", f"{DEVICES}/NOSUCHDEVICE", user.access_token,
                    json={"auth": password_auth(user)})
    assert_error(r, 404, "M_NOT_FOUND")


def test_delete_own_current_device(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("DELETE", f"{DEVICES}/{user.device_id}", user.access_token,
                    json={"auth": password_auth(user)})
    assert r.status_code == 200, r.text
    assert_error(kit.request("GET", WHOAMI, user.access_token), 401, "M_UNKNOWN_TOKEN")


def test_delete_devices(kit: Kit) -> None:
    user = kit.register_user()
    a, b, keep = (kit.login(user.user_id) for _ in range(3))
    body: dict[str, Any] = {"devices": [a.device_id, b.device_id, "UNKNOWNDEVICE"]}
    r = kit.request("POST", "/_matrix/client/v3/delete_devices", user.access_token, json=body)
    assert r.status_code == 401, r.text
    session = r.json()["session"]
    assert len(device_ids(kit, user)) == 4
    r = kit.request("POST", "/_matrix/client/v3/delete_devices", user.access_token,
                    json={**body, "auth": password_auth(user, session)})
    assert r.status_code == 200 and r.json() == {}
    assert device_ids(kit, user) == sorted([user.device_id, keep.device_id])
    for gone in (a, b):
        assert_error(kit.request("GET", WHOAMI, gone.access_token), 401, "M_UNKNOWN_TOKEN")


def test_delete_devices_cannot_touch_other_users(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    r = kit.request("POST", "/_matrix/client/v3/delete_devices", alice.access_token,
                    json={"devices": [bob.device_id], "auth": password_auth(alice)})
    assert r.status_code == 200, r.text
    assert kit.request("GET", WHOAMI, bob.access_token).status_code == 200


def test_uia_session_is_bound_to_its_operation(kit: Kit) -> None:
    """Password auth completed for deleting device A can't be replayed to delete device B."""
    user = kit.register_user()
    a, b = kit.login(user.user_id), kit.login(user.user_id)
    r = kit.request("DELETE", f"{DEVICES}/{a.device_id}", user.access_token)
    session = r.json()["session"]
    r = kit.request("DELETE", f"{DEVICES}/{b.device_id}", user.access_token,
                    json={"auth": password_auth(user, session)})
    assert_error(r, 403, "M_FORBIDDEN")
    r = kit.request("POST", "/_matrix/client/v3/delete_devices", user.access_token,
                    json={"devices": [a.device_id, b.device_id],
                          "auth": password_auth(user, session)})
    assert_error(r, 403, "M_FORBIDDEN")
    r = kit.request("POST", "/_matrix/client/v3/account/deactivate", user.access_token,
                    json={"auth": password_auth(user, session)})
    assert_error(r, 403, "M_FORBIDDEN")
    assert len(device_ids(kit, user)) == 3
    # The session still works for the operation it was started for.
    r = kit.request("DELETE", f"{DEVICES}/{a.device_id}", user.access_token,
                    json={"auth": password_auth(user, session)})
    assert r.status_code == 200, r.text
    assert device_ids(kit, user) == sorted([user.device_id, b.device_id])


def test_devices_need_a_token(kit: Kit) -> None:
    assert_error(kit.http.get(DEVICES), 401, "M_MISSING_TOKEN")
    assert_error(kit.http.get(f"{DEVICES}/X"), 401, "M_MISSING_TOKEN")
    assert_error(kit.http.put(f"{DEVICES}/X", json={}), 401, "M_MISSING_TOKEN")
    assert_error(kit.http.delete(f"{DEVICES}/X"), 401, "M_MISSING_TOKEN")
    assert_error(kit.http.post("/_matrix/client/v3/delete_devices", json={"devices": []}),
                 401, "M_MISSING_TOKEN")
