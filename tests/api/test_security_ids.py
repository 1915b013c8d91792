"""Identifiers with a trailing newline are not identifiers.

Python's ``$`` also matches just before a final ``\\n``, so a validator written as
``re.match(r"^...$")`` lets ``"@user:server\\n"`` through. An attacker sends ``%0A`` at the
end of a path or query parameter and gets a membership, a registration or a token that no
other part of the system will ever match again.
"""

from __future__ import annotations

import pytest

from tests.kit import Kit, User, assert_error, create_room, unique


@pytest.fixture(scope="module")
def owner(kit: Kit) -> User:
    return kit.register_user()


def test_membership_for_user_id_with_newline_is_refused(kit: Kit, owner: User) -> None:
    room_id = create_room(kit, owner)
    target = f"@{unique()}:localhost%0A"
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room_id}/state/m.room.member/{target}",
                    owner.access_token, json={"membership": "invite"})
    assert r.status_code == 400, r.text
    state = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/state",
                        owner.access_token).json()
    assert not [e for e in state if e["state_key"].endswith("\n")]


@pytest.mark.parametrize("username", ["x\n", "abc\n"])
def test_register_available_refuses_trailing_newline(kit: Kit, username: str) -> None:
    r = kit.http.get("/_matrix/client/v3/register/available", params={"username": username})
    assert_error(r, 400, "M_INVALID_USERNAME")


def test_register_refuses_trailing_newline(kit: Kit) -> None:
    r = kit.http.post("/_matrix/client/v3/register",
                      json={"username": unique() + "\n", "password": "a long password 1",
                            "auth": {"type": "m.login.dummy"}})
    assert_error(r, 400, "M_INVALID_USERNAME")


@pytest.mark.parametrize("since", ["s1\n", "s1_2\n"])
def test_sync_token_with_newline_is_refused(kit: Kit, owner: User, since: str) -> None:
    r = kit.request("GET", "/_matrix/client/v3/sync", owner.access_token,
                    params={"since": since, "timeout": "0"})
    assert_error(r, 400, "M_INVALID_PARAM")


def test_pagination_token_with_newline_is_refused(kit: Kit, owner: User) -> None:
    room_id = create_room(kit, owner)
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/messages", owner.access_token,
                    params={"from": "t1_1\n", "dir": "b"})
    assert_error(r, 400, "M_INVALID_PARAM")


def test_key_changes_token_with_newline_is_refused(kit: Kit, owner: User) -> None:
    r = kit.request("GET", "/_matrix/client/v3/keys/changes", owner.access_token,
                    params={"from": "s1\n", "to": "s2"})
    assert_error(r, 400, "M_INVALID_PARAM")
