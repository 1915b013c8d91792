"""POST /register with user-interactive auth, /register/available, and their errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.kit import PASSWORD, Kit, assert_error, unique
from tests.server import GliaProcess

REGISTER = "/_matrix/client/v3/register"
AVAILABLE = "/_matrix/client/v3/register/available"


def start_uia(kit: Kit, body: dict[str, Any]) -> dict[str, Any]:
    r = kit.http.post(REGISTER, json=body)
    assert r.status_code == 401, r.text
    uia = r.json()
    assert "errcode" not in uia, uia
    return uia


def test_two_step_dummy_registration(kit: Kit) -> None:
    localpart = unique("reg")
    body = {"username": localpart, "password": PASSWORD}
    uia = start_uia(kit, body)
    assert {"stages": ["m.login.dummy"]} in uia["flows"]
    assert isinstance(uia["session"], str) and uia["session"]
    assert uia["params"] == {}
    assert "completed" not in uia or uia["completed"] == []

    r = kit.http.post(REGISTER, json={
        **body, "auth": {"type": "m.login.dummy", "session": uia["session"]},
    })
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["user_id"] == f"@{localpart}:localhost"
    assert data["home_server"] == "localhost"
    assert data["access_token"] and data["device_id"]

    who = kit.request("GET", "/_matrix/client/v3/account/whoami", data["access_token"])
    assert who.json()["user_id"] == data["user_id"]
    assert who.json()["device_id"] == data["device_id"]
    # The password works for login.
    assert kit.login(data["user_id"]).user_id == data["user_id"]


def test_completed_session_cannot_be_reused(kit: Kit) -> None:
    localpart = unique("reg")
    uia = start_uia(kit, {"username": localpart, "password": PASSWORD})
    auth = {"type": "m.login.dummy", "session": uia["session"]}
    r = kit.http.post(REGISTER, json={"username": localpart, "password": PASSWORD, "auth": auth})
    assert r.status_code == 200
    other = unique("reg")
    r = kit.http.post(REGISTER, json={"username": other, "password": PASSWORD, "auth": auth})
    assert r.status_code in (400, 401, 403), r.text
    assert "errcode" in r.json()
    assert kit.http.get(AVAILABLE, params={"username": other}).json() == {"available": True}


def test_session_is_bound_to_the_username(kit: Kit) -> None:
    uia = start_uia(kit, {"username": unique("reg"), "password": PASSWORD})
    other = unique("reg")
    r = kit.http.post(REGISTER, json={
        "username": other, "password": PASSWORD,
        "auth": {"type": "m.login.dummy", "session": uia["session"]},
    })
    assert_error(r, 403, "M_FORBIDDEN")
    assert kit.http.get(AVAILABLE, params={"username": other}).json() == {"available": True}


def test_nio_style_single_request(kit: Kit) -> None:
    """matrix-nio sends ``auth: {type: m.login.dummy}`` with no session in one request."""
    localpart = unique("nio")
    r = kit.http.post(REGISTER, json={
        "username": localpart, "password": PASSWORD, "auth": {"type": "m.login.dummy"},
        "initial_device_display_name": "nio phone", "device_id": "NIODEVICE",
    })
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["user_id"] == f"@{localpart}:localhost"
    assert data["device_id"] == "NIODEVICE"
    device = kit.request("GET", "/_matrix/client/v3/devices/NIODEVICE", data["access_token"])
    assert device.json()["display_name"] == "nio phone"


def test_r0_path(kit: Kit) -> None:
    r = kit.http.post("/_matrix/client/r0/register", json={
        "username": unique("r0"), "password": PASSWORD, "auth": {"type": "m.login.dummy"},
    })
    assert r.status_code == 200, r.text


def test_unknown_stage_fails_the_stage(kit: Kit) -> None:
    r = kit.http.post(REGISTER, json={
        "username": unique("reg"), "password": PASSWORD, "auth": {"type": "m.login.fancy"},
    })
    assert r.status_code == 401, r.text
    assert r.json()["errcode"] in ("M_UNRECOGNIZED", "M_UNKNOWN")
    assert r.json()["flows"]


def test_unknown_session(kit: Kit) -> None:
    r = kit.http.post(REGISTER, json={
        "username": unique("reg"), "password": PASSWORD,
        "auth": {"type": "m.login.dummy", "session": "no-such-session"},
    })
    assert r.status_code == 400, r.text
    assert r.json()["errcode"] == "M_UNKNOWN"


def test_inhibit_login(kit: Kit) -> None:
    localpart = unique("inh")
    r = kit.http.post(REGISTER, json={
        "username": localpart, "password": PASSWORD, "inhibit_login": True,
        "auth": {"type": "m.login.dummy"},
    })
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": f"@{localpart}:localhost", "home_server": "localhost"}
    # The account exists and can log in; registration created no device.
    user = kit.login(f"@{localpart}:localhost")
    devices = kit.request("GET", "/_matrix/client/v3/devices", user.access_token).json()
    assert [d["device_id"] for d in devices["devices"]] == [user.device_id]


def test_username_is_lowercased(kit: Kit) -> None:
    localpart = unique("Mixed")
    r = kit.http.post(REGISTER, json={
        "username": localpart, "password": PASSWORD, "auth": {"type": "m.login.dummy"},
    })
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == f"@{localpart.lower()}:localhost"


def test_no_username_generates_one(kit: Kit) -> None:
    r = kit.http.post(REGISTER, json={"password": PASSWORD, "auth": {"type": "m.login.dummy"}})
    assert r.status_code == 200, r.text
    user_id = r.json()["user_id"]
    assert user_id.startswith("@") and user_id.endswith(":localhost")
    localpart = user_id[1:].split(":")[0]
    assert localpart and not localpart.isdigit()


def test_available(kit: Kit) -> None:
    localpart = unique("avail")
    r = kit.http.get(AVAILABLE, params={"username": localpart})
    assert r.status_code == 200
    assert r.json() == {"available": True}
    kit.register_user(localpart)
    assert_error(kit.http.get(AVAILABLE, params={"username": localpart}), 400, "M_USER_IN_USE")


def test_available_requires_username(kit: Kit) -> None:
    assert_error(kit.http.get(AVAILABLE), 400, "M_MISSING_PARAM")


def test_user_in_use(kit: Kit) -> None:
    user = kit.register_user()
    localpart = user.user_id[1:].split(":")[0]
    body = {"username": localpart, "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    assert_error(kit.http.post(REGISTER, json=body), 400, "M_USER_IN_USE")
    # Also before any UIA: the first, auth-less request already says so.
    assert_error(kit.http.post(REGISTER, json={"username": localpart, "password": PASSWORD}),
                 400, "M_USER_IN_USE")


def test_user_in_use_is_case_insensitive(kit: Kit) -> None:
    user = kit.register_user()
    localpart = user.user_id[1:].split(":")[0]
    body = {"username": localpart.upper(), "password": PASSWORD,
            "auth": {"type": "m.login.dummy"}}
    assert_error(kit.http.post(REGISTER, json=body), 400, "M_USER_IN_USE")
    assert_error(kit.http.get(AVAILABLE, params={"username": localpart.upper()}),
                 400, "M_USER_IN_USE")


@pytest.mark.parametrize("username", [
    "has space", "hash#tag", "colon:x", "_underscore", "12345", "emoji😀", "a@b", "x" * 300,
])
def test_invalid_username(kit: Kit, username: str) -> None:
    body = {"username": username, "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    assert_error(kit.http.post(REGISTER, json=body), 400, "M_INVALID_USERNAME")
    assert_error(kit.http.get(AVAILABLE, params={"username": username}), 400,
                 "M_INVALID_USERNAME")


def test_missing_password(kit: Kit) -> None:
    r = kit.http.post(REGISTER, json={"username": unique("nopw"),
                                      "auth": {"type": "m.login.dummy"}})
    assert_error(r, 400, "M_MISSING_PARAM")


def test_guest_registration_is_forbidden(kit: Kit) -> None:
    r = kit.http.post(REGISTER, params={"kind": "guest"}, json={})
    assert_error(r, 403, "M_GUEST_ACCESS_FORBIDDEN")


def test_unknown_kind(kit: Kit) -> None:
    r = kit.http.post(REGISTER, params={"kind": "robot"}, json={})
    assert r.status_code == 400
    assert r.json()["errcode"] in ("M_INVALID_PARAM", "M_UNKNOWN")


def test_registration_disabled(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_REGISTRATION__ENABLED": "false"})
    with httpx.Client(base_url=server.url) as http:
        body = {"username": unique("off"), "password": PASSWORD}
        assert_error(http.post(REGISTER, json=body), 403, "M_FORBIDDEN")
        body["auth"] = {"type": "m.login.dummy"}
        assert_error(http.post(REGISTER, json=body), 403, "M_FORBIDDEN")
        # Shared-secret registration (the admin's way in) still works.
        admin_kit = Kit(server.url)
        admin_kit.register_user()
        admin_kit.close()


def test_require_token_closes_dummy_registration(
        glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_REGISTRATION__REQUIRE_TOKEN": "true"})
    with httpx.Client(base_url=server.url) as http:
        localpart = unique("tok")
        r = http.post(REGISTER, json={"username": localpart, "password": PASSWORD})
        assert r.status_code == 401, r.text
        assert r.json()["flows"] == [{"stages": ["m.login.registration_token",
                                                 "m.login.dummy"]}]
        # The dummy stage alone completes nothing.
        r = http.post(REGISTER, json={"username": localpart, "password": PASSWORD,
                                      "auth": {"type": "m.login.dummy"}})
        assert r.status_code == 401, r.text
        assert r.json()["completed"] == ["m.login.dummy"]
        r = http.post(REGISTER, json={"username": localpart, "password": PASSWORD,
                                      "auth": {"type": "m.login.registration_token",
                                               "token": "guess"}})
        assert r.status_code == 401, r.text
        assert http.get(AVAILABLE, params={"username": localpart}).json() == {"available": True}


def test_minimum_password_length(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_PASSWORD__MINIMUM_LENGTH": "12"})
    with httpx.Client(base_url=server.url) as http:
        body = {"username": unique("short"), "password": "short", "auth":
                {"type": "m.login.dummy"}}
        assert_error(http.post(REGISTER, json=body), 400, "M_PASSWORD_TOO_SHORT")
        body["password"] = "long enough password"
        assert http.post(REGISTER, json=body).status_code == 200
