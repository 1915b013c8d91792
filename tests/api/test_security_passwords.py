"""Passwords longer than bcrypt's 72 bytes.

bcrypt 5 raises on more than 72 bytes where older releases (the ones Synapse's hashes
were made with) silently used the first 72; every path that hashed such a password
answered 500. They are accepted up to ``password.maximum_length`` characters and hashed
as those releases did; past the maximum a new password is refused and a login simply
fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from glia.services.shared_secret_registration import registration_mac
from tests.kit import Kit, User, assert_error, unique
from tests.server import SHARED_SECRET, GliaProcess

#: 93 bytes of UTF-8 in 53 characters.
LONG = "é" * 40 + " long password"
S = "/_synapse/admin"


def login(kit: Kit, user_id: str, password: str) -> int:
    r = kit.http.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id},
        "password": password})
    assert r.status_code in (200, 403), r.text
    return r.status_code


def client_register(kit: Kit, admin: User, password: str) -> tuple[Any, str]:
    localpart = unique("pw")
    r = kit.http.post("/_matrix/client/v3/register", json={
        "username": localpart, "password": password, "auth": {"type": "m.login.dummy"}})
    return r, f"@{localpart}:localhost"


def shared_secret_register(kit: Kit, admin: User, password: str) -> tuple[Any, str]:
    localpart = unique("pw")
    nonce = kit.http.get(f"{S}/v1/register").json()["nonce"]
    r = kit.http.post(f"{S}/v1/register", json={
        "nonce": nonce, "username": localpart, "password": password, "admin": False,
        "mac": registration_mac(SHARED_SECRET, nonce, localpart, password, False, None)})
    return r, f"@{localpart}:localhost"


def admin_create(kit: Kit, admin: User, password: str) -> tuple[Any, str]:
    user_id = f"@{unique('pw')}:localhost"
    r = kit.request("PUT", f"{S}/v2/users/{quote(user_id)}", admin.access_token,
                    json={"password": password})
    return r, user_id


def admin_update(kit: Kit, admin: User, password: str) -> tuple[Any, str]:
    user = kit.register_user()
    r = kit.request("PUT", f"{S}/v2/users/{quote(user.user_id)}", admin.access_token,
                    json={"password": password})
    return r, user.user_id


def admin_reset(kit: Kit, admin: User, password: str) -> tuple[Any, str]:
    user = kit.register_user()
    r = kit.request("POST", f"{S}/v1/reset_password/{quote(user.user_id)}",
                    admin.access_token, json={"new_password": password})
    return r, user.user_id


def dendrite_reset(kit: Kit, admin: User, password: str) -> tuple[Any, str]:
    user = kit.register_user()
    r = kit.request("POST", f"/_dendrite/admin/resetPassword/{quote(user.user_id)}",
                    admin.access_token, json={"password": password})
    return r, user.user_id


def change_own(kit: Kit, admin: User, password: str) -> tuple[Any, str]:
    user = kit.register_user()
    r = kit.request("POST", "/_matrix/client/v3/account/password", user.access_token, json={
        "new_password": password, "logout_devices": False,
        "auth": {"type": "m.login.password", "password": user.password,
                 "identifier": {"type": "m.id.user", "user": user.user_id}}})
    return r, user.user_id


WRITERS = [client_register, shared_secret_register, admin_create, admin_update,
           admin_reset, dendrite_reset, change_own]


@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.__name__)
def test_long_password_is_set_and_works(kit: Kit, writer: Callable[..., tuple[Any, str]]
                                        ) -> None:
    admin = kit.make_admin()
    r, user_id = writer(kit, admin, LONG)
    assert r.status_code in (200, 201), r.text
    assert login(kit, user_id, LONG) == 200
    assert login(kit, user_id, "e" + LONG[1:]) == 403


def test_long_password_in_user_interactive_auth(kit: Kit) -> None:
    user = kit.register_user(password=LONG)
    other = kit.login(user.user_id, LONG)
    r = kit.request("POST", "/_matrix/client/v3/delete_devices", user.access_token, json={
        "devices": [other.device_id],
        "auth": {"type": "m.login.password", "password": LONG,
                 "identifier": {"type": "m.id.user", "user": user.user_id}}})
    assert r.status_code == 200, r.text


def test_login_past_the_maximum_is_a_failed_login(kit: Kit) -> None:
    user = kit.register_user()
    assert login(kit, user.user_id, "x" * 100_000) == 403


@pytest.fixture(scope="module")
def short_max(new_database_url: Callable[[], str]) -> Any:
    server = GliaProcess(new_database_url(), {"GLIA_PASSWORD__MAXIMUM_LENGTH": "60"}).start()
    kit = Kit(server.url)
    yield kit
    kit.close()
    server.stop()
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("writer", [client_register, admin_create, admin_update, admin_reset,
                                    dendrite_reset, change_own], ids=lambda w: w.__name__)
def test_past_the_configured_maximum_is_refused(short_max: Kit,
                                                writer: Callable[..., tuple[Any, str]]
                                                ) -> None:
    admin = short_max.make_admin()
    r, user_id = writer(short_max, admin, "p" * 61)
    assert_error(r, 400, "M_INVALID_PARAM")
    r, user_id = writer(short_max, admin, "p" * 60)
    assert r.status_code in (200, 201), r.text
    assert login(short_max, user_id, "p" * 60) == 200


def test_login_past_the_configured_maximum_fails(short_max: Kit) -> None:
    user = short_max.register_user(password="p" * 60)
    assert login(short_max, user.user_id, "p" * 61) == 403
