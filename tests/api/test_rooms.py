"""Rooms over real HTTP: creation, membership, sending, state, timeline, redaction."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from tests.kit import Kit, assert_error, create_room, send_event, unique


def test_create_room_initial_state_in_spec_order(kit: Kit) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice, name="Pub", topic="Happy hour",
                          room_alias_name=unique("pub"), preset="public_chat")
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/state", alice.access_token)
    assert r.status_code == 200
    types = [e["type"] for e in r.json()]
    assert types[:3] == ["m.room.create", "m.room.member", "m.room.power_levels"]
    assert types.index("m.room.canonical_alias") < types.index("m.room.join_rules")
    assert types.index("m.room.history_visibility") < types.index("m.room.name")
    # As Synapse, public_chat sends no guest_access event: absent means forbidden.
    assert "m.room.guest_access" not in types
    name = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/state/m.room.name",
                       alice.access_token)
    assert name.json() == {"name": "Pub"}
    # createRoom's topic is sent with its text/plain representation too (spec v1.15).
    topic = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/state/m.room.topic",
                        alice.access_token)
    assert topic.json() == {"topic": "Happy hour", "m.topic": {
        "m.text": [{"body": "Happy hour"}]}}
    create = next(e for e in r.json() if e["type"] == "m.room.create")
    assert create["content"]["room_version"] == "12"
    assert room_id.startswith("!") and ":" not in room_id  # v12 room IDs


def test_identical_concurrent_creates_get_distinct_rooms(kit: Kit) -> None:
    """v12 room IDs hash the create event: the same creator making identical rooms at
    once (same millisecond) must still get one room each, not a 500."""
    alice = kit.register_user()

    def create(_: int) -> tuple[int, str]:
        r = kit.request("POST", "/_matrix/client/v3/createRoom", alice.access_token, json={})
        return r.status_code, r.json().get("room_id", r.text)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(16)))
    assert all(status == 200 for status, _ in results), results
    assert len({room_id for _, room_id in results}) == 16


def test_invite_join_send_and_paginate_exactly_once(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, invite=[bob.user_id])
    r = kit.request("POST", f"/_matrix/client/v3/join/{quote(room_id)}", bob.access_token,
                    json={})
    assert r.status_code == 200, r.text
    sent = []
    for i in range(30):
        sender = alice if i % 2 == 0 else bob
        sent.append(send_event(kit, sender, room_id, {"msgtype": "m.text", "body": f"m{i}"}))
    seen: list[str] = []
    token = None
    while True:
        params = {"dir": "b", "limit": "7", **({"from": token} if token else {})}
        page = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/messages",
                           alice.access_token, params=params).json()
        seen += [e["event_id"] for e in page["chunk"] if e["type"] == "m.room.message"]
        if "end" not in page:
            break
        token = page["end"]
    assert list(reversed(seen)) == sent
    forward: list[str] = []
    token = None
    while True:
        params = {"dir": "f", "limit": "7", **({"from": token} if token else {})}
        page = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/messages",
                           bob.access_token, params=params).json()
        forward += [e["event_id"] for e in page["chunk"] if e["type"] == "m.room.message"]
        if "end" not in page:
            break
        token = page["end"]
    assert forward == sent


def test_send_is_idempotent_per_txn_id(kit: Kit) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice)
    first = send_event(kit, alice, room_id, txn_id="t1")
    again = send_event(kit, alice, room_id, txn_id="t1")
    assert first == again
    ev = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/event/{quote(first)}",
                     alice.access_token).json()
    assert ev["unsigned"]["transaction_id"] == "t1"


def test_non_member_cannot_send_or_read(kit: Kit) -> None:
    alice, eve = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice)
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/x",
                    eve.access_token, json={"body": "hi", "msgtype": "m.text"})
    assert_error(r, 403, "M_FORBIDDEN")
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/messages", eve.access_token)
    assert_error(r, 403, "M_FORBIDDEN")
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/join", eve.access_token,
                    json={})
    assert_error(r, 403, "M_FORBIDDEN")


def test_redaction_prunes_content(kit: Kit) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice)
    event_id = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "secret"})
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room_id}/redact/{quote(event_id)}/r1",
                    alice.access_token, json={"reason": "oops"})
    assert r.status_code == 200, r.text
    ev = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/event/{quote(event_id)}",
                     alice.access_token).json()
    assert ev["content"] == {}
    assert ev["unsigned"]["redacted_because"]["event_id"] == r.json()["event_id"]


def test_bad_input(kit: Kit) -> None:
    alice = kit.register_user()
    assert_error(kit.request("POST", "/_matrix/client/v3/createRoom", alice.access_token,
                             json={"room_version": "999"}), 400, "M_UNSUPPORTED_ROOM_VERSION")
    assert_error(kit.request("GET", "/_matrix/client/v3/rooms/!nope:localhost/state",
                             alice.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", "/_matrix/client/v3/rooms/notaroom/state",
                             alice.access_token), 400, "M_INVALID_PARAM")
    room_id = create_room(kit, alice)
    big = {"msgtype": "m.text", "body": "x" * 70_000}
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/big",
                    alice.access_token, json=big)
    assert_error(r, 413, "M_TOO_LARGE")
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/messages", alice.access_token,
                    params={"from": "garbage"})
    assert_error(r, 400, "M_INVALID_PARAM")


def test_leave_kick_ban(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    assert kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/join", bob.access_token,
                       json={}).status_code == 200
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/ban", alice.access_token,
                    json={"user_id": bob.user_id, "reason": "spam"})
    assert r.status_code == 200, r.text
    assert_error(kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/join",
                             bob.access_token, json={}), 403, "M_FORBIDDEN")
    joined = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/joined_members",
                         alice.access_token).json()["joined"]
    assert list(joined) == [alice.user_id]
    rooms = kit.request("GET", "/_matrix/client/v3/joined_rooms", bob.access_token).json()
    assert room_id not in rooms["joined_rooms"]


def test_aliases_and_public_directory(kit: Kit) -> None:
    alice = kit.register_user()
    local = unique("lobby")
    room_id = create_room(kit, alice, room_alias_name=local, visibility="public",
                          name="Lobby " + local)
    alias = f"#{local}:localhost"
    r = kit.request("GET", f"/_matrix/client/v3/directory/room/{quote(alias)}")
    assert r.json()["room_id"] == room_id
    extra = f"#{unique('extra')}:localhost"
    r = kit.request("PUT", f"/_matrix/client/v3/directory/room/{quote(extra)}",
                    alice.access_token, json={"room_id": room_id})
    assert r.status_code == 200, r.text
    r = kit.request("PUT", f"/_matrix/client/v3/directory/room/{quote(extra)}",
                    alice.access_token, json={"room_id": room_id})
    assert_error(r, 409, "M_ROOM_IN_USE")
    aliases = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/aliases",
                          alice.access_token).json()["aliases"]
    assert sorted(aliases) == sorted([alias, extra])
    found = kit.request("POST", "/_matrix/client/v3/publicRooms", alice.access_token,
                        json={"filter": {"generic_search_term": local}}).json()
    assert [e["room_id"] for e in found["chunk"]] == [room_id]
    assert found["chunk"][0]["canonical_alias"] == alias
    r = kit.request("DELETE", f"/_matrix/client/v3/directory/room/{quote(extra)}",
                    alice.access_token)
    assert r.status_code == 200
    assert_error(kit.request("GET", f"/_matrix/client/v3/directory/room/{quote(extra)}"),
                 404, "M_NOT_FOUND")
    assert_error(kit.request("POST", "/_matrix/client/v3/createRoom", alice.access_token,
                             json={"room_alias_name": local}), 400, "M_ROOM_IN_USE")


def test_capabilities_list_room_versions(kit: Kit) -> None:
    alice = kit.register_user()
    caps = kit.request("GET", "/_matrix/client/v3/capabilities",
                       alice.access_token).json()["capabilities"]
    versions = caps["m.room_versions"]
    assert versions["default"] == "12"
    assert set(versions["available"]) == {str(v) for v in range(1, 13)}


def test_invalid_event_ids(kit: Kit) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice)
    assert_error(kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/event/nope",
                             alice.access_token), 400, "M_INVALID_PARAM")
    assert_error(kit.request("PUT", f"/_matrix/client/v3/rooms/{room_id}/redact/nope/t",
                             alice.access_token, json={}), 400, "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/event/%24missing",
                             alice.access_token), 404, "M_NOT_FOUND")


def test_displayname_change_updates_member_events(kit: Kit) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice)
    r = kit.request("PUT", f"/_matrix/client/v3/profile/{alice.user_id}/displayname",
                    alice.access_token, json={"displayname": "Alice A."})
    assert r.status_code == 200
    member = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/state/m.room.member/"
                         f"{alice.user_id}", alice.access_token).json()
    assert member == {"membership": "join", "displayname": "Alice A."}


def test_redacting_others_events_needs_the_redact_level(kit: Kit) -> None:
    """A member below the room's redact level may redact only their own events (room
    versions from 3 leave this check to the client API)."""
    owner, member = kit.register_user(), kit.register_user()
    room = create_room(kit, owner, preset="public_chat")
    r = kit.request("POST", f"/_matrix/client/v3/join/{room}", member.access_token, json={})
    assert r.status_code == 200
    theirs = send_event(kit, owner, room)
    mine = send_event(kit, member, room)
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/redact/{theirs}/r1",
                    member.access_token, json={})
    assert_error(r, 403, "M_FORBIDDEN")
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/redact/{mine}/r2",
                    member.access_token, json={})
    assert r.status_code == 200, r.text
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/redact/{mine}/r3",
                    owner.access_token, json={})
    assert r.status_code == 200, r.text
