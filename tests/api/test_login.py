"""/login, /logout, /logout/all, and how access tokens are presented."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit import PASSWORD, Kit, User, assert_error, unique

LOGIN = "/_matrix/client/v3/login"
WHOAMI = "/_matrix/client/v3/account/whoami"


def localpart(user: User) -> str:
    return user.user_id[1:].split(":")[0]


def password_login(kit: Kit, **body: Any) -> Any:
    return kit.http.post(LOGIN, json={"type": "m.login.password", **body})


def test_flows(kit: Kit) -> None:
    r = kit.http.get(LOGIN)
    assert r.status_code == 200
    types = [f["type"] for f in r.json()["flows"]]
    assert "m.login.password" in types


@pytest.mark.parametrize("how", ["identifier_full", "identifier_localpart", "user_full",
                                 "user_localpart"])
def test_password_login(kit: Kit, how: str) -> None:
    user = kit.register_user()
    name = user.user_id if how.endswith("full") else localpart(user)
    if how.startswith("identifier"):
        body: dict[str, Any] = {"identifier": {"type": "m.id.user", "user": name}}
    else:
        body = {"user": name}
    r = password_login(kit, password=PASSWORD, **body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["user_id"] == user.user_id
    assert data["home_server"] == "localhost"
    assert data["device_id"] and data["device_id"] != user.device_id
    assert data["access_token"] != user.access_token
    assert data["well_known"]["m.homeserver"]["base_url"].startswith("http://")
    who = kit.request("GET", WHOAMI, data["access_token"]).json()
    assert who == {"user_id": user.user_id, "device_id": data["device_id"], "is_guest": False}


def test_login_localpart_is_case_insensitive(kit: Kit) -> None:
    user = kit.register_user()
    r = password_login(kit, identifier={"type": "m.id.user", "user": localpart(user).upper()},
                       password=PASSWORD)
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == user.user_id


def test_login_with_device_id_and_name(kit: Kit) -> None:
    user = kit.register_user()
    r = password_login(kit, identifier={"type": "m.id.user", "user": user.user_id},
                       password=PASSWORD, device_id="MYLAPTOP",
                       initial_device_display_name="Laptop")
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["device_id"] == "MYLAPTOP"
    assert kit.request("GET", "/_matrix/client/v3/devices/MYLAPTOP", token).json()[
        "display_name"] == "Laptop"
    # Logging in again with the same device ID reuses the device with a fresh token.
    again = password_login(kit, identifier={"type": "m.id.user", "user": user.user_id},
                           password=PASSWORD, device_id="MYLAPTOP")
    assert again.status_code == 200
    assert again.json()["device_id"] == "MYLAPTOP"
    devices = kit.request("GET", "/_matrix/client/v3/devices", token).json()["devices"]
    assert sorted(d["device_id"] for d in devices) == sorted([user.device_id, "MYLAPTOP"])


def test_wrong_password(kit: Kit) -> None:
    user = kit.register_user()
    r = password_login(kit, identifier={"type": "m.id.user", "user": user.user_id},
                       password="wrong password")
    assert_error(r, 403, "M_FORBIDDEN")


@pytest.mark.parametrize("name", ["@nobody-here:localhost", "nobody-here-either",
                                  "@someone:elsewhere.example"])
def test_unknown_user(kit: Kit, name: str) -> None:
    r = password_login(kit, identifier={"type": "m.id.user", "user": name}, password=PASSWORD)
    assert_error(r, 403, "M_FORBIDDEN")


def test_unknown_and_wrong_password_look_the_same(kit: Kit) -> None:
    user = kit.register_user()
    wrong = password_login(kit, identifier={"type": "m.id.user", "user": user.user_id},
                           password="nope").json()
    unknown = password_login(kit, identifier={"type": "m.id.user", "user": "@nx:localhost"},
                             password="nope").json()
    assert wrong == unknown


def test_deactivated_user(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("POST", "/_matrix/client/v3/account/deactivate", user.access_token, json={
        "auth": {"type": "m.login.password", "password": PASSWORD,
                 "identifier": {"type": "m.id.user", "user": user.user_id}},
    })
    assert r.status_code == 200, r.text
    r = password_login(kit, identifier={"type": "m.id.user", "user": user.user_id},
                       password=PASSWORD)
    assert_error(r, 403, "M_USER_DEACTIVATED")


def test_unknown_login_type(kit: Kit) -> None:
    r = kit.http.post(LOGIN, json={"type": "m.login.fancy", "user": "x", "password": "y"})
    assert r.status_code == 400
    assert r.json()["errcode"] == "M_UNKNOWN"


def test_unknown_identifier_type(kit: Kit) -> None:
    """An identifier type this server does not read (``m.id.phone`` included: phone
    numbers are never validated here) is 400 M_UNKNOWN, as Synapse answers an unknown
    one. (``m.id.thirdparty`` is read: tests/api/test_threepids.py.)"""
    for identifier in ({"type": "m.id.fancy", "user": "x"},
                       {"type": "m.id.phone", "country": "GB", "phone": "07700900001"}):
        r = password_login(kit, identifier=identifier, password=PASSWORD)
        assert_error(r, 400, "M_UNKNOWN")


def test_unknown_3pid_is_forbidden(kit: Kit) -> None:
    r = password_login(kit, identifier={"type": "m.id.thirdparty", "medium": "email",
                                        "address": "nobody@example.org"}, password=PASSWORD)
    assert_error(r, 403, "M_FORBIDDEN")


def test_invalid_user_id(kit: Kit) -> None:
    r = password_login(kit, identifier={"type": "m.id.user", "user": "@no-domain"},
                       password=PASSWORD)
    assert_error(r, 400, "M_INVALID_PARAM")


# -- logout ----------------------------------------------------------------------------


def test_logout(kit: Kit) -> None:
    user = kit.register_user()
    other = kit.login(user.user_id)
    r = kit.request("POST", "/_matrix/client/v3/logout", other.access_token)
    assert r.status_code == 200 and r.json() == {}
    assert_error(kit.request("GET", WHOAMI, other.access_token), 401, "M_UNKNOWN_TOKEN")
    # Its device is gone, the other session is untouched.
    devices = kit.request("GET", "/_matrix/client/v3/devices", user.access_token).json()
    assert [d["device_id"] for d in devices["devices"]] == [user.device_id]
    assert kit.request("GET", WHOAMI, user.access_token).status_code == 200


def test_logout_twice(kit: Kit) -> None:
    user = kit.login(kit.register_user().user_id)
    assert kit.request("POST", "/_matrix/client/v3/logout", user.access_token).status_code == 200
    body = assert_error(kit.request("POST", "/_matrix/client/v3/logout", user.access_token),
                        401, "M_UNKNOWN_TOKEN")
    assert body["soft_logout"] is False


def test_logout_all(kit: Kit) -> None:
    user = kit.register_user()
    sessions = [user, kit.login(user.user_id), kit.login(user.user_id)]
    bystander = kit.register_user()
    r = kit.request("POST", "/_matrix/client/v3/logout/all", sessions[1].access_token)
    assert r.status_code == 200 and r.json() == {}
    for s in sessions:
        assert_error(kit.request("GET", WHOAMI, s.access_token), 401, "M_UNKNOWN_TOKEN")
    assert kit.request("GET", WHOAMI, bystander.access_token).status_code == 200
    # The account itself is fine: a new login works and has only its own device.
    fresh = kit.login(user.user_id)
    devices = kit.request("GET", "/_matrix/client/v3/devices", fresh.access_token).json()
    assert [d["device_id"] for d in devices["devices"]] == [fresh.device_id]


def test_logout_needs_a_token(kit: Kit) -> None:
    assert_error(kit.http.post("/_matrix/client/v3/logout"), 401, "M_MISSING_TOKEN")
    assert_error(kit.http.post("/_matrix/client/v3/logout/all"), 401, "M_MISSING_TOKEN")


# -- how the token is presented ------------------------------------------------------------


def test_token_in_header(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.http.get(WHOAMI, headers={"Authorization": f"Bearer {user.access_token}"})
    assert r.status_code == 200 and r.json()["user_id"] == user.user_id


def test_bearer_scheme_is_case_insensitive(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.http.get(WHOAMI, headers={"Authorization": f"bearer {user.access_token}"})
    assert r.status_code == 200, r.text


def test_token_in_query(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.http.get(WHOAMI, params={"access_token": user.access_token})
    assert r.status_code == 200 and r.json()["user_id"] == user.user_id


def test_both_header_and_query(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.http.get(WHOAMI, params={"access_token": user.access_token},
                     headers={"Authorization": f"Bearer {user.access_token}"})
    assert_error(r, 401, "M_MISSING_TOKEN")


def test_no_token(kit: Kit) -> None:
    assert_error(kit.http.get(WHOAMI), 401, "M_MISSING_TOKEN")


def test_empty_query_token(kit: Kit) -> None:
    assert_error(kit.http.get(WHOAMI, params={"access_token": ""}), 401, "M_MISSING_TOKEN")


@pytest.mark.parametrize("header", [
    "Basic dXNlcjpwYXNz", "Bearer", "Token abc", "bearerabc", "",
])
def test_malformed_authorization_header(kit: Kit, header: str) -> None:
    r = kit.http.get(WHOAMI, headers={"Authorization": header})
    assert_error(r, 401, "M_MISSING_TOKEN")


def test_unknown_token(kit: Kit) -> None:
    body = assert_error(kit.request("GET", WHOAMI, token=unique("glia_")), 401,
                        "M_UNKNOWN_TOKEN")
    assert body["soft_logout"] is False
    assert_error(kit.http.get(WHOAMI, params={"access_token": "nope"}), 401, "M_UNKNOWN_TOKEN")
