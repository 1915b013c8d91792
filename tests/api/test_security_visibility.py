"""Who may read a room: the attacker was never joined, or only briefly.

A knock that was rescinded, an invite that was rejected and a ban before ever joining
all leave a ``leave``/``ban`` membership; the state readers took any such membership as
"was in the room" and showed the whole state as of that event. ``/joined_members``
answered departed users, ``/event`` told a stranger the event exists (403, not 404), and
a redaction could name an event of another room — one where the redacter has no power —
and be written into a room where they have it, for clients that match by event ID.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.kit import Kit, User, assert_error, create_room, send_event, unique

C = "/_matrix/client/v3"


def post(kit: Kit, user: User, path: str, body: dict[str, Any] | None = None) -> Any:
    r = kit.request("POST", f"{C}{path}", user.access_token, json=body or {})
    assert r.status_code == 200, r.text
    return r.json()


def set_state(kit: Kit, user: User, room_id: str, event_type: str,
              content: dict[str, Any]) -> None:
    r = kit.request("PUT", f"{C}/rooms/{quote(room_id)}/state/{event_type}/",
                    user.access_token, json=content)
    assert r.status_code == 200, r.text


def reads(kit: Kit, user: User, room_id: str) -> dict[str, int]:
    room = f"{C}/rooms/{quote(room_id)}"
    return {path: kit.request("GET", f"{room}{path}", user.access_token).status_code
            for path in ("/state", "/state/m.room.name/", "/members", "/joined_members")}


def assert_sees_nothing(kit: Kit, user: User, room_id: str) -> None:
    room = f"{C}/rooms/{quote(room_id)}"
    for path in ("/state", "/state/m.room.name/", "/members", "/joined_members"):
        assert_error(kit.request("GET", f"{room}{path}", user.access_token), 403,
                     "M_FORBIDDEN")


@pytest.fixture
def owner(kit: Kit) -> User:
    return kit.register_user()


@pytest.fixture
def stranger(kit: Kit) -> User:
    return kit.register_user()


def secret_room(kit: Kit, owner: User, join_rule: str = "invite") -> str:
    room_id = create_room(kit, owner, preset="private_chat", name="secret name")
    set_state(kit, owner, room_id, "m.room.join_rules", {"join_rule": join_rule})
    return room_id


def test_rescinded_knock_sees_nothing(kit: Kit, owner: User, stranger: User) -> None:
    room_id = secret_room(kit, owner, "knock")
    post(kit, stranger, f"/knock/{quote(room_id)}")
    post(kit, stranger, f"/rooms/{quote(room_id)}/leave")
    assert_sees_nothing(kit, stranger, room_id)


def test_rejected_invite_sees_nothing(kit: Kit, owner: User, stranger: User) -> None:
    room_id = secret_room(kit, owner)
    post(kit, owner, f"/rooms/{quote(room_id)}/invite", {"user_id": stranger.user_id})
    post(kit, stranger, f"/rooms/{quote(room_id)}/leave")
    assert_sees_nothing(kit, stranger, room_id)


def test_banned_before_joining_sees_nothing(kit: Kit, owner: User, stranger: User) -> None:
    room_id = secret_room(kit, owner)
    post(kit, owner, f"/rooms/{quote(room_id)}/ban", {"user_id": stranger.user_id})
    assert_sees_nothing(kit, stranger, room_id)


def test_former_member_sees_state_as_of_leaving_only(kit: Kit, owner: User,
                                                     stranger: User) -> None:
    room_id = secret_room(kit, owner, "knock")
    post(kit, owner, f"/rooms/{quote(room_id)}/invite", {"user_id": stranger.user_id})
    post(kit, stranger, f"/join/{quote(room_id)}")
    post(kit, stranger, f"/rooms/{quote(room_id)}/leave")
    set_state(kit, owner, room_id, "m.room.name", {"name": "after they left"})
    # Knocking again and rescinding does not extend what they may read.
    post(kit, stranger, f"/knock/{quote(room_id)}")
    post(kit, stranger, f"/rooms/{quote(room_id)}/leave")
    room = f"{C}/rooms/{quote(room_id)}"
    r = kit.request("GET", f"{room}/state/m.room.name/", stranger.access_token)
    assert r.status_code == 200 and r.json() == {"name": "secret name"}, r.text
    names = [e["content"].get("name") for e in
             kit.request("GET", f"{room}/state", stranger.access_token).json()
             if e["type"] == "m.room.name"]
    assert names == ["secret name"]
    members = kit.request("GET", f"{room}/members", stranger.access_token).json()["chunk"]
    mine = [e["content"]["membership"] for e in members
            if e["state_key"] == stranger.user_id]
    assert mine == ["leave"]
    # Only current members list the joined members.
    assert_error(kit.request("GET", f"{room}/joined_members", stranger.access_token), 403,
                 "M_FORBIDDEN")


def test_world_readable_room_is_readable_by_anyone(kit: Kit, owner: User,
                                                  stranger: User) -> None:
    room_id = secret_room(kit, owner)
    set_state(kit, owner, room_id, "m.room.history_visibility",
              {"history_visibility": "world_readable"})
    statuses = reads(kit, stranger, room_id)
    assert statuses == {"/state": 200, "/state/m.room.name/": 200, "/members": 200,
                        "/joined_members": 403}, statuses


def test_event_of_a_room_one_cannot_see_is_not_found(kit: Kit, owner: User,
                                                     stranger: User) -> None:
    room_id = secret_room(kit, owner)
    event_id = send_event(kit, owner, room_id)
    for event in (event_id, f"$unknown{unique()}"):
        assert_error(kit.request("GET", f"{C}/rooms/{quote(room_id)}/event/{quote(event)}",
                                 stranger.access_token), 404, "M_NOT_FOUND")


def test_redaction_naming_an_event_of_another_room_is_refused(
        kit: Kit, owner: User, stranger: User) -> None:
    victim_room = create_room(kit, owner, preset="public_chat")
    post(kit, stranger, f"/join/{quote(victim_room)}")
    victim_event = send_event(kit, owner, victim_room)
    own_room = create_room(kit, stranger)
    r = kit.request("PUT", f"{C}/rooms/{quote(own_room)}/redact/{quote(victim_event)}/"
                    f"{unique('txn')}", stranger.access_token, json={"reason": "mine now"})
    assert_error(r, 400, "M_INVALID_PARAM")
    timeline = kit.request("GET", f"{C}/rooms/{quote(own_room)}/messages",
                           stranger.access_token, params={"dir": "b", "limit": 50}).json()
    assert not [e for e in timeline["chunk"] if e["type"] == "m.room.redaction"]
    original = kit.request("GET", f"{C}/rooms/{quote(victim_room)}/event/"
                           f"{quote(victim_event)}", owner.access_token).json()
    assert original["content"] != {}
