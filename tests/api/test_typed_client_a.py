"""The typed request models of the room, directory, account-data, receipt, typing,
presence, profile, to-device, filter, search and report routes: a missing field is
``M_MISSING_PARAM``, a mistyped one ``M_BAD_JSON``, an out-of-range one
``M_INVALID_PARAM`` — each naming the field — and optional bodies may be empty."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.kit import Kit, User, assert_error, create_room, send_event, unique

V3 = "/_matrix/client/v3"
TOO_BIG = 2**53  # one past the largest integer JSON parsers keep exact


@pytest.fixture(scope="module")
def alice(kit: Kit) -> User:
    return kit.register_user()


@pytest.fixture(scope="module")
def room(kit: Kit, alice: User) -> tuple[str, str]:
    room_id = create_room(kit, alice)
    return room_id, send_event(kit, alice, room_id)


def _path(template: str, alice: User, room: tuple[str, str]) -> str:
    return template.format(user=quote(alice.user_id), room=quote(room[0]),
                           event=quote(room[1]), txn=unique("txn"),
                           alias=quote(f"#{unique('alias')}:localhost"))


# (method, path, body, errcode, the field the error must name)
REFUSED: list[tuple[str, str, Any, str, str]] = [
    # createRoom: the whole body is one model.
    ("POST", "/createRoom", {"invite": "x"}, "M_BAD_JSON", "invite"),
    ("POST", "/createRoom", {"invite": [5]}, "M_BAD_JSON", "invite[0]"),
    ("POST", "/createRoom", {"initial_state": [{"content": {}}]}, "M_MISSING_PARAM",
     "initial_state[0].type"),
    ("POST", "/createRoom", {"initial_state": [{"type": "m.x", "content": []}]},
     "M_BAD_JSON", "initial_state[0].content"),
    ("POST", "/createRoom", {"room_version": 12}, "M_BAD_JSON", "room_version"),
    ("POST", "/createRoom", {"preset": "party"}, "M_INVALID_PARAM", "preset"),
    ("POST", "/createRoom", {"power_level_content_override": []}, "M_BAD_JSON",
     "power_level_content_override"),
    ("POST", "/rooms/{room}/upgrade", {"new_version": 12}, "M_BAD_JSON", "new_version"),
    # Redaction reasons are strings.
    ("PUT", "/rooms/{room}/redact/{event}/{txn}", {"reason": 5}, "M_BAD_JSON", "reason"),
    # Directory.
    ("PUT", "/directory/room/{alias}", {}, "M_MISSING_PARAM", "room_id"),
    ("PUT", "/directory/list/room/{room}", {"visibility": "secret"}, "M_INVALID_PARAM",
     "visibility"),
    ("POST", "/publicRooms", {"limit": -1}, "M_INVALID_PARAM", "limit"),
    ("POST", "/publicRooms", {"limit": TOO_BIG}, "M_INVALID_PARAM", "limit"),
    ("POST", "/publicRooms", {"filter": {"generic_search_term": 5}}, "M_BAD_JSON",
     "filter.generic_search_term"),
    # Receipts and read markers.
    ("POST", "/rooms/{room}/receipt/m.read/{event}", {"thread_id": 5}, "M_BAD_JSON",
     "thread_id"),
    ("POST", "/rooms/{room}/read_markers", {"m.read": 5}, "M_BAD_JSON", "m.read"),
    # Typing and presence.
    ("PUT", "/rooms/{room}/typing/{user}", {"timeout": 1000}, "M_MISSING_PARAM", "typing"),
    ("PUT", "/rooms/{room}/typing/{user}", {"typing": True, "timeout": TOO_BIG},
     "M_INVALID_PARAM", "timeout"),
    ("PUT", "/rooms/{room}/typing/{user}", {"typing": True, "timeout": -1},
     "M_INVALID_PARAM", "timeout"),
    ("PUT", "/presence/{user}/status", {"status_msg": "away"}, "M_MISSING_PARAM",
     "presence"),
    ("PUT", "/presence/{user}/status", {"presence": "online", "status_msg": 5},
     "M_BAD_JSON", "status_msg"),
    # To-device.
    ("PUT", "/sendToDevice/m.test/{txn}", {"messages": {"@a:localhost": {"D": 5}}},
     "M_BAD_JSON", "messages"),
    # Filters.
    ("POST", "/user/{user}/filter", {"room": {"timeline": {"limit": TOO_BIG}}},
     "M_INVALID_PARAM", "room.timeline.limit"),
    ("POST", "/user/{user}/filter", {"room": {"state": {"types": "m.room.name"}}},
     "M_BAD_JSON", "room.state.types"),
    ("POST", "/user/{user}/filter", {"presence": {"not_senders": ["x"]}}, "M_BAD_JSON",
     "not_senders"),
    # Search.
    ("POST", "/search", {"search_categories": {"room_events": {
        "search_term": "x", "filter": {"limit": TOO_BIG}}}}, "M_INVALID_PARAM",
     "search_categories.room_events.filter.limit"),
    ("POST", "/search", {"search_categories": {"room_events": {
        "search_term": "x", "event_context": {"before_limit": TOO_BIG}}}},
     "M_INVALID_PARAM", "search_categories.room_events.event_context.before_limit"),
]


@pytest.mark.parametrize(("method", "path", "body", "errcode", "field"), REFUSED,
                         ids=[f"{m} {p} {f}" for m, p, _, _, f in REFUSED])
def test_refused_naming_the_field(kit: Kit, alice: User, room: tuple[str, str], method: str,
                                  path: str, body: Any, errcode: str, field: str) -> None:
    r = kit.request(method, V3 + _path(path, alice, room), alice.access_token, json=body)
    error = assert_error(r, 400, errcode)
    assert field in error["error"], error


@pytest.mark.parametrize("path", ["/user/{user}/filter", "/createRoom",
                                  "/rooms/{room}/read_markers", "/search"])
def test_null_body_is_refused(kit: Kit, alice: User, room: tuple[str, str],
                              path: str) -> None:
    r = kit.request("POST", V3 + _path(path, alice, room), alice.access_token,
                    content=b"null", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "M_BAD_JSON")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/rooms/{room}/receipt/m.read/{event}"),
    ("PUT", "/rooms/{room}/redact/{event}/{txn}"),
    ("POST", "/publicRooms"),
])
def test_optional_body_may_be_empty(kit: Kit, alice: User, method: str, path: str) -> None:
    room_id = create_room(kit, alice)
    event_id = send_event(kit, alice, room_id)
    r = kit.request(method, V3 + _path(path, alice, (room_id, event_id)),
                    alice.access_token, content=b"")
    assert r.status_code == 200, r.text


def test_redaction_carries_only_a_string_reason(kit: Kit, alice: User) -> None:
    room_id = create_room(kit, alice)
    target = send_event(kit, alice, room_id)
    r = kit.request("PUT", f"{V3}/rooms/{quote(room_id)}/redact/{quote(target)}/"
                    f"{unique('txn')}", alice.access_token, json={"reason": "spam", "x": 1})
    assert r.status_code == 200, r.text
    redaction = kit.request("GET", f"{V3}/rooms/{quote(room_id)}/event/"
                            f"{quote(r.json()['event_id'])}", alice.access_token).json()
    assert redaction["content"]["reason"] == "spam" and "x" not in redaction["content"]


def test_directory_visibility_defaults_to_public(kit: Kit, alice: User) -> None:
    """The spec's default when the body leaves ``visibility`` out."""
    room_id = create_room(kit, alice)
    path = f"{V3}/directory/list/room/{quote(room_id)}"
    r = kit.request("PUT", path, alice.access_token, json={})
    assert r.status_code == 200, r.text
    assert kit.request("GET", path).json() == {"visibility": "public"}
    r = kit.request("PUT", path, alice.access_token, json={"visibility": "private"})
    assert r.status_code == 200, r.text
    assert kit.request("GET", path).json() == {"visibility": "private"}


def test_filter_round_trips_exactly(kit: Kit, alice: User) -> None:
    definition = {
        "event_format": "client", "event_fields": ["type", "content.body"],
        "presence": {"types": [], "not_senders": ["@x:localhost"], "limit": 0},
        "account_data": {"not_types": ["m.*"]},
        "room": {"rooms": ["!a:localhost"], "not_rooms": [], "include_leave": False,
                 "timeline": {"limit": 2**53 - 1, "types": ["m.room.*"],
                              "contains_url": False, "unread_thread_notifications": True},
                 "state": {"lazy_load_members": True, "include_redundant_members": False},
                 "ephemeral": {"senders": ["@y:localhost"], "rooms": ["!b:localhost"]},
                 "account_data": {}},
    }
    base = f"{V3}/user/{quote(alice.user_id)}/filter"
    r = kit.request("POST", base, alice.access_token, json=definition)
    assert r.status_code == 200, r.text
    stored = kit.request("GET", f"{base}/{r.json()['filter_id']}", alice.access_token)
    assert stored.json() == definition


def test_create_room_with_the_whole_body(kit: Kit, alice: User) -> None:
    bob = kit.register_user()
    local = unique("typed")
    r = kit.request("POST", f"{V3}/createRoom", alice.access_token, json={
        "preset": "public_chat", "visibility": "private", "name": "N", "topic": "T",
        "room_alias_name": local, "invite": [bob.user_id], "is_direct": True,
        "creation_content": {"m.federate": False},
        "initial_state": [{"type": "org.example.state", "content": {"a": 1}}],
        "power_level_content_override": {"events_default": 10}, "room_version": "12",
    })
    assert r.status_code == 200, r.text
    room_id = r.json()["room_id"]
    state = {(e["type"], e["state_key"]): e["content"] for e in kit.request(
        "GET", f"{V3}/rooms/{quote(room_id)}/state", alice.access_token).json()}
    assert state[("org.example.state", "")] == {"a": 1}
    assert state[("m.room.name", "")] == {"name": "N"}
    assert state[("m.room.topic", "")]["topic"] == "T"
    assert state[("m.room.create", "")]["m.federate"] is False
    assert state[("m.room.power_levels", "")]["events_default"] == 10
    # The invite carries the invitee's profile (a new user's display name is the
    # localpart).
    assert state[("m.room.member", bob.user_id)] == {
        "membership": "invite", "is_direct": True,
        "displayname": bob.user_id[1:].split(":")[0]}
    assert state[("m.room.canonical_alias", "")] == {"alias": f"#{local}:localhost"}
