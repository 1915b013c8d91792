"""Tokens follow their owner's and their minter's standing, at once.

An attacker here is an admin who mints an impersonation token (``login as``) and is then
demoted, locked, suspended or deactivated: the token must die with the admin's power.
The account's own flags stop its own tokens (locked: ``M_USER_LOCKED`` with soft logout;
deactivated: ``M_UNKNOWN_TOKEN``); a suspended account keeps reading (the spec asks that
suspended users may still see their messages) but may not write.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.kit import Kit, User, assert_error, create_room

S = "/_synapse/admin"
WHOAMI = "/_matrix/client/v3/account/whoami"


def _q(user_id: str) -> str:
    return quote(user_id, safe="")


def _login_as(kit: Kit, admin: User, target: User) -> str:
    r = kit.request("POST", f"{S}/v1/users/{_q(target.user_id)}/login", admin.access_token,
                    json={})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _set(kit: Kit, by: User, user: User, **flags: object) -> None:
    r = kit.request("PUT", f"{S}/v2/users/{_q(user.user_id)}", by.access_token, json=flags)
    assert r.status_code == 200, r.text


def _suspend(kit: Kit, by: User, user: User, suspended: bool) -> None:
    r = kit.request("PUT", f"/_matrix/client/v1/admin/suspend/{_q(user.user_id)}",
                    by.access_token, json={"suspended": suspended})
    assert r.status_code == 200, r.text


def _whoami(kit: Kit, token: str) -> str:
    r = kit.request("GET", WHOAMI, token)
    assert r.status_code == 200, r.text
    return str(r.json()["user_id"])


@pytest.mark.parametrize("demotion", ["admin_removed", "locked", "deactivated"])
def test_impersonation_token_dies_with_the_minters_power(kit: Kit, demotion: str) -> None:
    boss, rogue, victim = kit.make_admin(), kit.make_admin(), kit.register_user()
    puppet = _login_as(kit, rogue, victim)
    assert _whoami(kit, puppet) == victim.user_id

    if demotion == "admin_removed":
        _set(kit, boss, rogue, admin=False)
    elif demotion == "locked":
        _set(kit, boss, rogue, locked=True)
    else:
        r = kit.request("POST", f"{S}/v1/deactivate/{_q(rogue.user_id)}", boss.access_token,
                        json={})
        assert r.status_code == 200, r.text

    body = assert_error(kit.request("GET", WHOAMI, puppet), 401, "M_UNKNOWN_TOKEN")
    assert body.get("soft_logout") is not True
    # Writing as the victim is refused too, not just reading.
    assert_error(kit.request("POST", "/_matrix/client/v3/createRoom", puppet, json={}), 401,
                 "M_UNKNOWN_TOKEN")
    # The victim's own session is untouched.
    assert _whoami(kit, victim.access_token) == victim.user_id

    if demotion != "deactivated":
        # Restoring the admin does not revive a token that once lost its backing.
        _set(kit, boss, rogue, admin=True, locked=False)
        assert_error(kit.request("GET", WHOAMI, puppet), 401, "M_UNKNOWN_TOKEN")


def test_impersonation_token_stops_when_the_minter_is_suspended(kit: Kit) -> None:
    boss, rogue, victim = kit.make_admin(), kit.make_admin(), kit.register_user()
    puppet = _login_as(kit, rogue, victim)
    # The spec's suspend route refuses admins: demote, suspend, then promote again, so the
    # minter ends up an admin who is suspended.
    _set(kit, boss, rogue, admin=False)
    _suspend(kit, boss, rogue, True)
    _set(kit, boss, rogue, admin=True)
    assert_error(kit.request("GET", WHOAMI, puppet), 401, "M_UNKNOWN_TOKEN")
    fresh = _login_as(kit, rogue, victim)  # minted while suspended: dead on arrival
    assert_error(kit.request("GET", WHOAMI, fresh), 401, "M_UNKNOWN_TOKEN")


def test_locked_account_tokens_stop_at_once_including_puppets(kit: Kit) -> None:
    admin, victim = kit.make_admin(), kit.register_user()
    second = kit.login(victim.user_id)
    puppet = _login_as(kit, admin, victim)
    _set(kit, admin, victim, locked=True)
    for token in (victim.access_token, second.access_token, puppet):
        body = assert_error(kit.request("GET", WHOAMI, token), 401, "M_USER_LOCKED")
        assert body["soft_logout"] is True
    # Locking keeps the sessions (the spec): unlocking lets them work again.
    _set(kit, admin, victim, locked=False)
    assert _whoami(kit, second.access_token) == victim.user_id


def test_deactivated_account_tokens_stop_at_once_including_puppets(kit: Kit) -> None:
    admin, victim = kit.make_admin(), kit.register_user()
    puppet = _login_as(kit, admin, victim)
    r = kit.request("POST", f"{S}/v1/deactivate/{_q(victim.user_id)}", admin.access_token,
                    json={})
    assert r.status_code == 200, r.text
    for token in (victim.access_token, puppet):
        assert_error(kit.request("GET", WHOAMI, token), 401, "M_UNKNOWN_TOKEN")


def test_suspended_account_reads_but_cannot_write(kit: Kit) -> None:
    admin, victim = kit.make_admin(), kit.register_user()
    room = create_room(kit, victim)
    puppet = _login_as(kit, admin, victim)
    _suspend(kit, admin, victim, True)
    for token in (victim.access_token, puppet):
        assert _whoami(kit, token) == victim.user_id
        assert kit.request("GET", f"/_matrix/client/v3/rooms/{room}/messages",
                           token).status_code == 200
        assert_error(kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/send/m.room.message/"
                                 f"t{token[-6:]}", token, json={"msgtype": "m.text",
                                                                "body": "spam"}),
                     403, "M_USER_SUSPENDED")
