"""whoami, password change and deactivation (both behind user-interactive auth)."""

from __future__ import annotations

from typing import Any

from tests.kit import PASSWORD, Kit, User, assert_error

WHOAMI = "/_matrix/client/v3/account/whoami"
PASSWORD_PATH = "/_matrix/client/v3/account/password"
DEACTIVATE = "/_matrix/client/v3/account/deactivate"
NEW_PASSWORD = "a brand new password"


def password_auth(user: User, password: str = PASSWORD, session: str | None = None,
                  legacy: bool = False) -> dict[str, Any]:
    auth: dict[str, Any] = {"type": "m.login.password", "password": password}
    if legacy:
        auth["user"] = user.user_id
    else:
        auth["identifier"] = {"type": "m.id.user", "user": user.user_id}
    if session:
        auth["session"] = session
    return auth


def can_login(kit: Kit, user_id: str, password: str) -> bool:
    r = kit.http.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
    })
    assert r.status_code in (200, 403), r.text
    return r.status_code == 200


def device_ids(kit: Kit, user: User) -> list[str]:
    r = kit.request("GET", "/_matrix/client/v3/devices", user.access_token)
    assert r.status_code == 200, r.text
    return sorted(d["device_id"] for d in r.json()["devices"])


def test_whoami(kit: Kit) -> None:
    user = kit.register_user()
    for prefix in ("r0", "v3"):
        r = kit.request("GET", f"/_matrix/client/{prefix}/account/whoami", user.access_token)
        assert r.status_code == 200
        assert r.json() == {"user_id": user.user_id, "device_id": user.device_id,
                            "is_guest": False}


def test_password_change_uia_flow(kit: Kit) -> None:
    user = kit.register_user()
    other = kit.login(user.user_id)
    body = {"new_password": NEW_PASSWORD}
    r = kit.request("POST", PASSWORD_PATH, user.access_token, json=body)
    assert r.status_code == 401, r.text
    uia = r.json()
    assert {"stages": ["m.login.password"]} in uia["flows"]
    assert uia["session"]
    assert "errcode" not in uia

    # A wrong password fails the stage: 401 again, now with M_FORBIDDEN.
    r = kit.request("POST", PASSWORD_PATH, user.access_token, json={
        **body, "auth": password_auth(user, "wrong", uia["session"]),
    })
    assert r.status_code == 401, r.text
    assert r.json()["errcode"] == "M_FORBIDDEN"
    assert r.json()["session"] == uia["session"]
    assert can_login(kit, user.user_id, PASSWORD)

    r = kit.request("POST", PASSWORD_PATH, user.access_token, json={
        **body, "auth": password_auth(user, session=uia["session"]),
    })
    assert r.status_code == 200, r.text
    assert r.json() == {}
    assert not can_login(kit, user.user_id, PASSWORD)
    assert can_login(kit, user.user_id, NEW_PASSWORD)
    # logout_devices defaults to true: the other session ended, this one is kept.
    assert_error(kit.request("GET", WHOAMI, other.access_token), 401, "M_UNKNOWN_TOKEN")
    assert kit.request("GET", WHOAMI, user.access_token).status_code == 200


def test_password_change_single_request_without_session(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("POST", PASSWORD_PATH, user.access_token, json={
        "new_password": NEW_PASSWORD, "auth": password_auth(user, legacy=True),
    })
    assert r.status_code == 200, r.text
    assert can_login(kit, user.user_id, NEW_PASSWORD)


def test_password_change_logout_devices_true(kit: Kit) -> None:
    user = kit.register_user()
    others = [kit.login(user.user_id) for _ in range(2)]
    r = kit.request("POST", PASSWORD_PATH, user.access_token, json={
        "new_password": NEW_PASSWORD, "logout_devices": True, "auth": password_auth(user),
    })
    assert r.status_code == 200, r.text
    for other in others:
        assert_error(kit.request("GET", WHOAMI, other.access_token), 401, "M_UNKNOWN_TOKEN")
    assert device_ids(kit, user) == [user.device_id]


def test_password_change_logout_devices_false(kit: Kit) -> None:
    user = kit.register_user()
    other = kit.login(user.user_id)
    r = kit.request("POST", PASSWORD_PATH, user.access_token, json={
        "new_password": NEW_PASSWORD, "logout_devices": False, "auth": password_auth(user),
    })
    assert r.status_code == 200, r.text
    assert kit.request("GET", WHOAMI, other.access_token).status_code == 200
    assert device_ids(kit, user) == sorted([user.device_id, other.device_id])
    assert not can_login(kit, user.user_id, PASSWORD)


def test_password_stage_must_name_the_caller(kit: Kit) -> None:
    user = kit.register_user()
    someone = kit.register_user()
    r = kit.request("POST", PASSWORD_PATH, user.access_token, json={
        "new_password": NEW_PASSWORD, "auth": password_auth(someone),
    })
    assert r.status_code == 401
    assert r.json()["errcode"] == "M_FORBIDDEN"
    assert can_login(kit, user.user_id, PASSWORD)
    assert can_login(kit, someone.user_id, PASSWORD)


def test_password_change_needs_a_token(kit: Kit) -> None:
    r = kit.http.post(PASSWORD_PATH, json={"new_password": NEW_PASSWORD})
    assert_error(r, 401, "M_MISSING_TOKEN")


def test_password_session_of_another_user(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    session = kit.request("POST", PASSWORD_PATH, alice.access_token,
                          json={"new_password": NEW_PASSWORD}).json()["session"]
    r = kit.request("POST", PASSWORD_PATH, bob.access_token, json={
        "new_password": NEW_PASSWORD, "auth": password_auth(bob, session=session),
    })
    assert_error(r, 403, "M_FORBIDDEN")
    assert can_login(kit, bob.user_id, PASSWORD)


def test_deactivate(kit: Kit) -> None:
    user = kit.register_user()
    other = kit.login(user.user_id)
    r = kit.request("POST", DEACTIVATE, user.access_token, json={})
    assert r.status_code == 401, r.text
    session = r.json()["session"]
    assert {"stages": ["m.login.password"]} in r.json()["flows"]

    r = kit.request("POST", DEACTIVATE, user.access_token,
                    json={"auth": password_auth(user, "wrong", session)})
    assert r.status_code == 401 and r.json()["errcode"] == "M_FORBIDDEN"
    assert kit.request("GET", WHOAMI, user.access_token).status_code == 200

    r = kit.request("POST", DEACTIVATE, user.access_token,
                    json={"auth": password_auth(user, session=session)})
    assert r.status_code == 200, r.text
    # No 3PID bound at an identity server: nothing to unbind, which the spec says is a
    # success.
    assert r.json() == {"id_server_unbind_result": "success"}
    for token in (user.access_token, other.access_token):
        assert_error(kit.request("GET", WHOAMI, token), 401, "M_UNKNOWN_TOKEN")
    r = kit.http.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user.user_id},
        "password": PASSWORD,
    })
    assert r.status_code == 403
    # The name stays taken.
    localpart = user.user_id[1:].split(":")[0]
    assert_error(kit.http.get("/_matrix/client/v3/register/available",
                              params={"username": localpart}), 400, "M_USER_IN_USE")


def test_deactivate_with_empty_body_starts_uia(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("POST", DEACTIVATE, user.access_token, content=b"")
    assert r.status_code == 401, r.text
    assert r.json()["flows"]


def test_deactivate_erase_clears_profile(kit: Kit) -> None:
    user = kit.register_user()
    kit.request("PUT", f"/_matrix/client/v3/profile/{user.user_id}/displayname",
                user.access_token, json={"displayname": "Soon Gone"})
    r = kit.request("POST", DEACTIVATE, user.access_token,
                    json={"erase": True, "auth": password_auth(user)})
    assert r.status_code == 200, r.text
    profile = kit.http.get(f"/_matrix/client/v3/profile/{user.user_id}")
    assert "displayname" not in profile.json()


def test_password_session_cannot_deactivate(kit: Kit) -> None:
    """A UIA session started for a password change can't authorize deactivation."""
    user = kit.register_user()
    session = kit.request("POST", PASSWORD_PATH, user.access_token,
                          json={"new_password": NEW_PASSWORD}).json()["session"]
    r = kit.request("POST", DEACTIVATE, user.access_token,
                    json={"auth": password_auth(user, session=session)})
    assert_error(r, 403, "M_FORBIDDEN")
    assert kit.request("GET", WHOAMI, user.access_token).status_code == 200
