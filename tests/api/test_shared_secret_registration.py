"""Shared-secret registration, ``/_synapse/admin/v1/register``, with Synapse's exact errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from glia.services.shared_secret_registration import registration_mac
from tests.kit import PASSWORD, Kit, assert_error, unique
from tests.server import SHARED_SECRET, GliaProcess

PATH = "/_synapse/admin/v1/register"


def nonce(kit: Kit) -> str:
    r = kit.http.get(PATH)
    assert r.status_code == 200, r.text
    return str(r.json()["nonce"])


def signed(kit: Kit, username: str | None = None, password: str = PASSWORD, admin: bool = False,
           user_type: str | None = None, secret: str = SHARED_SECRET, **extra: Any
           ) -> dict[str, Any]:
    username = username or unique("ss")
    n = nonce(kit)
    body: dict[str, Any] = {
        "nonce": n, "username": username, "password": password, "admin": admin,
        "mac": registration_mac(secret, n, username, password, admin, user_type),
    }
    if user_type is not None:
        body["user_type"] = user_type
    body.update(extra)
    return body


def test_nonce_is_128_hex(kit: Kit) -> None:
    first, second = nonce(kit), nonce(kit)
    assert re.fullmatch(r"[0-9a-f]{128}", first)
    assert first != second


def test_register_non_admin(kit: Kit) -> None:
    body = signed(kit)
    r = kit.http.post(PATH, json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["user_id"] == f"@{body['username']}:localhost"
    assert data["home_server"] == "localhost"
    assert data["access_token"] and data["device_id"]
    who = kit.request("GET", "/_matrix/client/v3/account/whoami", data["access_token"]).json()
    assert who["user_id"] == data["user_id"] and who["device_id"] == data["device_id"]
    # The password works, and the display name defaults to the localpart.
    kit.login(data["user_id"])
    profile = kit.http.get(f"/_matrix/client/v3/profile/{data['user_id']}").json()
    assert profile["displayname"] == body["username"]


def test_register_admin(kit: Kit) -> None:
    r = kit.http.post(PATH, json=signed(kit, admin=True))
    assert r.status_code == 200, r.text
    # There is no admin endpoint in the foundation; the storage test checks the flag.
    # Here: the admin flag is covered by the MAC, so an admin MAC with admin=false fails.
    body = signed(kit, admin=True)
    body["admin"] = False
    assert_error(kit.http.post(PATH, json=body), 403, "M_UNKNOWN")


def test_admin_is_truthiness(kit: Kit) -> None:
    """Synapse MACs ``admin`` when the body's admin is truthy, whatever its JSON type."""
    body = signed(kit, admin=True)
    body["admin"] = 1
    r = kit.http.post(PATH, json=body)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("user_type", ["bot", "support"])
def test_user_type(kit: Kit, user_type: str) -> None:
    r = kit.http.post(PATH, json=signed(kit, user_type=user_type))
    assert r.status_code == 200, r.text


def test_user_type_is_in_the_mac(kit: Kit) -> None:
    body = signed(kit)  # MAC computed without a user type
    body["user_type"] = "bot"
    body_json = assert_error(kit.http.post(PATH, json=body), 403, "M_UNKNOWN")
    assert body_json["error"] == "HMAC incorrect"


def test_null_user_type_is_none(kit: Kit) -> None:
    """register_new_matrix_user sends ``user_type: null`` when none is given."""
    body = signed(kit)
    body["user_type"] = None
    r = kit.http.post(PATH, json=body)
    assert r.status_code == 200, r.text


def test_invalid_user_type(kit: Kit) -> None:
    body = signed(kit, user_type="wizard")
    err = assert_error(kit.http.post(PATH, json=body), 400, "M_UNKNOWN")
    assert err["error"] == "Invalid user type"


def test_displayname(kit: Kit) -> None:
    body = signed(kit, displayname="Shared Secret Sam")
    r = kit.http.post(PATH, json=body)
    assert r.status_code == 200, r.text
    user_id = r.json()["user_id"]
    profile = kit.http.get(f"/_matrix/client/v3/profile/{user_id}/displayname")
    assert profile.json() == {"displayname": "Shared Secret Sam"}


def test_inhibit_login(kit: Kit) -> None:
    body = signed(kit, inhibit_login=True)
    r = kit.http.post(PATH, json=body)
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": f"@{body['username']}:localhost", "home_server": "localhost"}
    kit.login(f"@{body['username']}:localhost")


def test_device_id_and_name(kit: Kit) -> None:
    body = signed(kit, device_id="SSDEVICE", initial_device_display_name="bootstrap")
    r = kit.http.post(PATH, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["device_id"] == "SSDEVICE"
    device = kit.request("GET", "/_matrix/client/v3/devices/SSDEVICE", r.json()["access_token"])
    assert device.json()["display_name"] == "bootstrap"


def test_username_lowercased_after_mac(kit: Kit) -> None:
    localpart = unique("MiXeD")
    r = kit.http.post(PATH, json=signed(kit, username=localpart))
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == f"@{localpart.lower()}:localhost"


def test_forged_mac(kit: Kit) -> None:
    body = signed(kit, secret="not-the-secret")
    err = assert_error(kit.http.post(PATH, json=body), 403, "M_UNKNOWN")
    assert err["error"] == "HMAC incorrect"
    assert kit.http.get("/_matrix/client/v3/register/available",
                        params={"username": body["username"]}).json() == {"available": True}


def test_mac_over_other_password(kit: Kit) -> None:
    body = signed(kit)
    body["password"] = "something else"
    assert assert_error(kit.http.post(PATH, json=body), 403, "M_UNKNOWN")["error"] \
        == "HMAC incorrect"


def test_reused_nonce(kit: Kit) -> None:
    body = signed(kit)
    assert kit.http.post(PATH, json=body).status_code == 200
    body["username"] = unique("again")
    body["mac"] = registration_mac(SHARED_SECRET, body["nonce"], body["username"], PASSWORD,
                                   False, None)
    err = assert_error(kit.http.post(PATH, json=body), 400, "M_UNKNOWN")
    assert err["error"] == "unrecognised nonce"


def test_failed_attempt_uses_up_the_nonce(kit: Kit) -> None:
    good = signed(kit)
    forged = {**good, "mac": "0" * 40}
    assert_error(kit.http.post(PATH, json=forged), 403, "M_UNKNOWN")
    err = assert_error(kit.http.post(PATH, json=good), 400, "M_UNKNOWN")
    assert err["error"] == "unrecognised nonce"


def test_failed_validation_uses_up_the_nonce(kit: Kit) -> None:
    good = signed(kit)
    assert_error(kit.http.post(PATH, json={**good, "user_type": "wizard"}), 400, "M_UNKNOWN")
    assert assert_error(kit.http.post(PATH, json=good), 400, "M_UNKNOWN")["error"] \
        == "unrecognised nonce"


def test_unknown_nonce(kit: Kit) -> None:
    body = signed(kit)
    body["nonce"] = "f" * 128
    assert assert_error(kit.http.post(PATH, json=body), 400, "M_UNKNOWN")["error"] \
        == "unrecognised nonce"


@pytest.mark.parametrize(("field", "message"), [
    ("nonce", "nonce must be specified"),
    ("username", "username must be specified"),
    ("password", "password must be specified"),
    ("mac", "mac must be specified"),
])
def test_missing_field(kit: Kit, field: str, message: str) -> None:
    body = signed(kit)
    del body[field]
    err = assert_error(kit.http.post(PATH, json=body), 400, "M_BAD_JSON")
    assert err["error"] == message


@pytest.mark.parametrize(("field", "value"), [
    ("displayname", 5), ("device_id", ["D"]), ("initial_device_display_name", {}),
    ("inhibit_login", "yes"), ("mac", 5), ("nonce", 5),
])
def test_mistyped_field_is_refused_before_the_nonce(kit: Kit, field: str, value: object
                                                    ) -> None:
    """Fields Synapse does not check itself are typed: the decoder refuses a wrong type,
    naming the field, before the nonce is looked at, so the nonce stays usable."""
    good = signed(kit)
    err = assert_error(kit.http.post(PATH, json={**good, field: value}), 400, "M_BAD_JSON")
    assert f"({field})" in err["error"], err
    r = kit.http.post(PATH, json=good)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("field", "value", "message"), [
    ("username", "x" * 513, "Invalid username"),
    ("username", 5, "Invalid username"),
    ("username", ["a"], "Invalid username"),
    ("password", 5, "Invalid password"),
    ("username", "nul\x00byte", "Invalid username"),
    ("password", "x" * 513, "Invalid password"),
    ("password", "nul\x00byte", "Invalid password"),
])
def test_invalid_username_or_password(kit: Kit, field: str, value: object, message: str
                                     ) -> None:
    body = signed(kit)
    body[field] = value
    err = assert_error(kit.http.post(PATH, json=body), 400, "M_UNKNOWN")
    assert err["error"] == message


@pytest.mark.parametrize("localpart", ["has space", "_under", "1234", "a:b"])
def test_invalid_localpart(kit: Kit, localpart: str) -> None:
    assert_error(kit.http.post(PATH, json=signed(kit, username=localpart)), 400,
                 "M_INVALID_USERNAME")


def test_user_in_use(kit: Kit) -> None:
    user = kit.register_user()
    localpart = user.user_id[1:].split(":")[0]
    err = assert_error(kit.http.post(PATH, json=signed(kit, username=localpart)), 400,
                       "M_USER_IN_USE")
    assert err["error"] == "User ID already taken."
    assert_error(kit.http.post(PATH, json=signed(kit, username=localpart.upper())), 400,
                 "M_USER_IN_USE")


def test_refresh_token_must_be_boolean(kit: Kit) -> None:
    err = assert_error(kit.http.post(PATH, json=signed(kit, refresh_token="yes")), 400,
                       "M_UNKNOWN")
    assert err["error"] == "refresh_token must be a boolean"


def test_disabled_without_secret(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_REGISTRATION__SHARED_SECRET": ""})
    with httpx.Client(base_url=server.url) as http:
        # GET still hands out nonces (as Synapse does); POST refuses first of all.
        n = http.get(PATH).json()["nonce"]
        body = {"nonce": n, "username": unique("x"), "password": PASSWORD, "admin": False,
                "mac": registration_mac("", n, "x", PASSWORD, False, None)}
        err = assert_error(http.post(PATH, json=body), 400, "M_UNKNOWN")
        assert err["error"] == "Shared secret registration is not enabled"
        # Checked before the body is even parsed.
        err = assert_error(http.post(PATH, content=b"not json"), 400, "M_UNKNOWN")
        assert err["error"] == "Shared secret registration is not enabled"
