"""Password guessing is limited per account, whatever address the guesses come from.

The attacker rotates ``X-Forwarded-For`` (and would rotate real addresses): the
per-address login limit is set far out of reach here so that only the per-account limit
can stop them. The limit holds the right password too while it lasts, grows with each
further failure, covers the UIA password stages, and is kept in the database (a second
server on the same database sees the same hold).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
from nacl.signing import SigningKey
from unpaddedbase64 import encode_base64

from tests.kit import PASSWORD, Kit, User, assert_error
from tests.server import GliaProcess

LOGIN = "/_matrix/client/v3/login"
BURST = 3

LIMITED = {
    "GLIA_RATELIMIT__ENABLED": "true",
    # Every per-address and per-user class far out of reach: only the account limit bites.
    **{f"GLIA_RATELIMIT__{cls}__{key}": value
       for cls in ("LOGIN", "REGISTER", "MESSAGE", "DEFAULT")
       for key, value in (("PER_SECOND", "1000"), ("BURST", "1000"))},
    "GLIA_RATELIMIT__FAILED_LOGIN__PER_SECOND": "1",
    "GLIA_RATELIMIT__FAILED_LOGIN__BURST": str(BURST),
    "GLIA_RATELIMIT__FAILED_LOGIN__MAX_BACKOFF": "30",
}

_addresses = (f"203.0.113.{n}" for n in itertools.count(1))


def _login(kit: Kit, user_id: str, password: str) -> Any:
    return kit.http.post(LOGIN, headers={"X-Forwarded-For": next(_addresses)}, json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id},
        "password": password})


@pytest.fixture
def limited(glia_factory: Callable[..., GliaProcess]) -> GliaProcess:
    return glia_factory(LIMITED)


def test_guessing_from_rotating_addresses_is_held_and_the_hold_grows(
        limited: GliaProcess) -> None:
    kit = Kit(limited.url)
    user = kit.register_user()
    for _ in range(BURST):
        assert_error(_login(kit, user.user_id, "wrong"), 403, "M_FORBIDDEN")
    # Held now: even the right password is refused until the hold ends.
    first = assert_error(_login(kit, user.user_id, PASSWORD), 429, "M_LIMIT_EXCEEDED")
    assert 0 < first["retry_after_ms"] <= 1000
    # A case variant of the name is the same account.
    assert_error(_login(kit, user.user_id.upper().replace("@", "@", 1), PASSWORD), 429,
                 "M_LIMIT_EXCEEDED")
    time.sleep(first["retry_after_ms"] / 1000 + 0.05)
    # One more wrong guess after the hold: a longer hold.
    assert_error(_login(kit, user.user_id, "wrong again"), 403, "M_FORBIDDEN")
    second = assert_error(_login(kit, user.user_id, PASSWORD), 429, "M_LIMIT_EXCEEDED")
    assert second["retry_after_ms"] > 1000
    time.sleep(second["retry_after_ms"] / 1000 + 0.05)
    assert _login(kit, user.user_id, PASSWORD).status_code == 200
    # The right password forgave the failures: a full burst is available again.
    for _ in range(BURST):
        assert_error(_login(kit, user.user_id, "wrong"), 403, "M_FORBIDDEN")
    assert_error(_login(kit, user.user_id, "wrong"), 429, "M_LIMIT_EXCEEDED")
    kit.close()


def test_unknown_accounts_are_held_too(limited: GliaProcess) -> None:
    kit = Kit(limited.url)
    for _ in range(BURST):
        assert_error(_login(kit, "@nobody-here:localhost", "guess"), 403, "M_FORBIDDEN")
    assert_error(_login(kit, "@nobody-here:localhost", "guess"), 429, "M_LIMIT_EXCEEDED")
    kit.close()


def _password_body(user: User, password: str, session: str | None) -> dict[str, Any]:
    auth: dict[str, Any] = {"type": "m.login.password", "password": password,
                            "identifier": {"type": "m.id.user", "user": user.user_id}}
    if session:
        auth["session"] = session
    return {"auth": auth}


def _master_key(user: User) -> dict[str, Any]:
    public = encode_base64(SigningKey.generate().verify_key.encode())
    return {"user_id": user.user_id, "usage": ["master"], "keys": {f"ed25519:{public}": public}}


def _uia(kit: Kit, user: User, route: str, password: str) -> Any:
    """One UIA password attempt at ``route`` (method, path, extra body)."""
    method, path, extra = {
        "password": ("POST", "/_matrix/client/v3/account/password",
                     {"new_password": "brand new password", "logout_devices": False}),
        "delete_devices": ("POST", "/_matrix/client/v3/delete_devices",
                           {"devices": ["NOSUCHDEVICE"]}),
        "deactivate": ("POST", "/_matrix/client/v3/account/deactivate", {}),
        "signing": ("POST", "/_matrix/client/v3/keys/device_signing/upload",
                    {"master_key": _master_key(user)}),
    }[route]
    first = kit.request(method, path, user.access_token, json=extra)
    assert first.status_code == 401, first.text
    session = first.json()["session"]
    return kit.request(method, path, user.access_token,
                       json={**extra, **_password_body(user, password, session)},
                       headers={"X-Forwarded-For": next(_addresses)})


@pytest.mark.parametrize("route", ["password", "delete_devices", "deactivate", "signing"])
def test_uia_password_stages_are_held(limited: GliaProcess, route: str) -> None:
    kit = Kit(limited.url)
    user = kit.register_user()
    if route == "signing":  # replacing a master key needs UIA; the first upload does not
        r = kit.request("POST", "/_matrix/client/v3/keys/device_signing/upload",
                        user.access_token, json={"master_key": _master_key(user)})
        assert r.status_code == 200, r.text
    for _ in range(BURST):
        r = _uia(kit, user, route, "wrong")
        assert r.status_code == 401 and r.json()["errcode"] == "M_FORBIDDEN", r.text
    assert_error(_uia(kit, user, route, PASSWORD), 429, "M_LIMIT_EXCEEDED")
    # The same account's login is held as well: one budget per account.
    assert_error(_login(kit, user.user_id, PASSWORD), 429, "M_LIMIT_EXCEEDED")
    kit.close()


def test_the_hold_is_shared_by_servers_on_one_database(
        new_database_url: Callable[[], str], db_kind: str) -> None:
    if db_kind != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    url = new_database_url()
    env = {**LIMITED, "GLIA_DATABASE__SEVERAL_PROCESSES": "true"}
    servers = [GliaProcess(url, env).start(), GliaProcess(url, env).start()]
    kits = [Kit(server.url) for server in servers]
    try:
        user = kits[0].register_user()
        for i in range(BURST):
            assert_error(_login(kits[i % 2], user.user_id, "wrong"), 403, "M_FORBIDDEN")
        for kit in kits:
            assert_error(_login(kit, user.user_id, PASSWORD), 429, "M_LIMIT_EXCEEDED")
    finally:
        for kit in kits:
            kit.close()
        for server in servers:
            server.stop()
            assert "Traceback" not in server.log(), server.log()[-3000:]
