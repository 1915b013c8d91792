"""``/sync`` room sections as the spec defines them: ``state`` is the state up to the start
of the ``timeline`` and never repeats it, a room is sent whole only when it is new to the
client, left rooms land in ``leave``, and presence of the people one shares a room with."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User, create_room, send_event

LIMIT_5 = {"room": {"timeline": {"limit": 5}}}


def sync(kit: Kit, user: User, since: str | None = None, filter_: Any = None,
         **params: str) -> dict[str, Any]:
    query: dict[str, str] = {"timeout": "0", **params}
    if since is not None:
        query["since"] = since
    if filter_ is not None:
        query["filter"] = json.dumps(filter_)
    r = kit.request("GET", "/_matrix/client/v3/sync", user.access_token, params=query)
    assert r.status_code == 200, r.text
    return dict(r.json())


def join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"/_matrix/client/v3/join/{room_id}", user.access_token, json={})
    assert r.status_code == 200, r.text


def leave(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/leave", user.access_token,
                    json={})
    assert r.status_code == 200, r.text


def set_state(kit: Kit, user: User, room_id: str, event_type: str,
              content: dict[str, Any], state_key: str = "") -> str:
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room_id}/state/{event_type}/"
                    f"{state_key}", user.access_token, json=content)
    assert r.status_code == 200, r.text
    return str(r.json()["event_id"])


def say(kit: Kit, user: User, room_id: str, count: int, prefix: str = "m") -> None:
    for i in range(count):
        send_event(kit, user, room_id, {"msgtype": "m.text", "body": f"{prefix}{i}"})


def state_keys(room: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["type"], e["state_key"]) for e in room["state"]["events"]}


def timeline_ids(room: dict[str, Any]) -> list[str]:
    return [e["event_id"] for e in room["timeline"]["events"]]


def test_state_changes_in_the_timeline_are_not_repeated_in_state(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat", name="Old")
    join(kit, bob, room)
    since = sync(kit, bob)["next_batch"]
    say(kit, alice, room, 8)
    topic = set_state(kit, alice, room, "m.room.topic", {"topic": "new topic"})
    say(kit, alice, room, 2, "after")
    body = sync(kit, bob, since, LIMIT_5)["rooms"]["join"][room]
    assert body["timeline"]["limited"] is True
    assert topic in timeline_ids(body)
    # The topic is new in this window and in the timeline: not in state as well.
    assert ("m.room.topic", "") not in state_keys(body)
    assert all(e["event_id"] not in timeline_ids(body) for e in body["state"]["events"])

    # A sync that (for the client) starts at full state: the state the timeline changes
    # appears once, in the timeline, with state holding its value before the timeline.
    carol = kit.register_user()
    join(kit, carol, room)
    name = set_state(kit, alice, room, "m.room.name", {"name": "Newer"})
    first = sync(kit, carol, None, LIMIT_5)["rooms"]["join"][room]
    assert name in timeline_ids(first)
    state_ids = {e["event_id"] for e in first["state"]["events"]}
    assert not state_ids & set(timeline_ids(first))


def test_state_the_timeline_filter_leaves_out_comes_in_state(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat", name="Before")
    join(kit, bob, room)
    messages_only = {"room": {"timeline": {"types": ["m.room.message"]}}}
    since = sync(kit, bob, None, messages_only)["next_batch"]
    say(kit, alice, room, 1)
    name = set_state(kit, alice, room, "m.room.name", {"name": "After"})
    say(kit, alice, room, 1, "later")
    body = sync(kit, bob, since, messages_only)["rooms"]["join"][room]
    assert body["timeline"]["limited"] is False
    assert [e["type"] for e in body["timeline"]["events"]] == ["m.room.message"] * 2
    # The rename is not in the timeline, so the client learns it from `state`.
    assert [e["event_id"] for e in body["state"]["events"]] == [name]


def test_a_display_name_change_does_not_resend_the_room(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat", name="Chat", topic="talk")
    join(kit, bob, room)
    say(kit, alice, room, 3)
    since = sync(kit, bob)["next_batch"]
    r = kit.request("PUT", f"/_matrix/client/v3/profile/{quote(bob.user_id)}/displayname",
                    bob.access_token, json={"displayname": "Bobby"})
    assert r.status_code == 200, r.text
    body = sync(kit, bob, since)["rooms"]["join"][room]
    events = body["timeline"]["events"]
    assert [(e["type"], e["content"].get("displayname")) for e in events] == \
        [("m.room.member", "Bobby")]
    assert body["timeline"]["limited"] is False
    # Not a new room: no state resent, no history before the change.
    assert body["state"]["events"] == []


def test_a_room_joined_since_the_token_comes_whole(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat", name="Busy", topic="lots")
    say(kit, alice, room, 12)
    since = sync(kit, bob)["next_batch"]
    join(kit, bob, room)
    body = sync(kit, bob, since, LIMIT_5)["rooms"]["join"][room]
    # Full state, though the room's state changed before `since`.
    keys = state_keys(body) | {(e["type"], e["state_key"]) for e in body["timeline"]["events"]
                               if "state_key" in e}
    assert {("m.room.create", ""), ("m.room.name", ""), ("m.room.topic", ""),
            ("m.room.join_rules", ""), ("m.room.power_levels", ""),
            ("m.room.member", alice.user_id), ("m.room.member", bob.user_id)} <= keys
    # The timeline ends with the join, and does not hold everything before it.
    assert body["timeline"]["events"][-1]["state_key"] == bob.user_id
    assert body["timeline"]["limited"] is True
    assert body["summary"]["m.joined_member_count"] == 2

    # A new room whose whole history fits in the timeline is not limited.
    quiet = create_room(kit, alice, preset="public_chat")
    since = sync(kit, bob)["next_batch"]
    join(kit, bob, quiet)
    small = sync(kit, bob, since, {"room": {"timeline": {"limit": 50}}})
    assert small["rooms"]["join"][quiet]["timeline"]["limited"] is False


def test_join_and_leave_in_one_window_keep_the_right_state(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat", name="Brief")
    say(kit, alice, room, 8)
    since = sync(kit, bob)["next_batch"]
    join(kit, bob, room)
    say(kit, alice, room, 8, "during")
    leave(kit, bob, room)
    say(kit, alice, room, 2, "afterwards")
    body = sync(kit, bob, since, LIMIT_5)
    assert room not in body["rooms"].get("join", {})
    left = body["rooms"]["leave"][room]
    events = left["timeline"]["events"]
    # The timeline stops at the leave: nothing after it leaks.
    assert events[-1]["state_key"] == bob.user_id
    assert events[-1]["content"]["membership"] == "leave"
    assert not any(e["content"].get("body", "").startswith("afterwards") for e in events)
    assert left["timeline"]["limited"] is True
    # The room is new to the client: its whole state up to the timeline's start.
    keys = state_keys(left)
    assert {("m.room.create", ""), ("m.room.name", ""), ("m.room.power_levels", ""),
            ("m.room.member", alice.user_id), ("m.room.member", bob.user_id)} <= keys
    assert {e["content"]["membership"] for e in left["state"]["events"]
            if e["type"] == "m.room.member" and e["state_key"] == bob.user_id} == {"join"}

    # Left before `since` then joined and left again within the window: the same.
    since = sync(kit, bob)["next_batch"]
    join(kit, bob, room)
    leave(kit, bob, room)
    again = sync(kit, bob, since, LIMIT_5)["rooms"]["leave"][room]
    assert again["timeline"]["events"][-1]["content"]["membership"] == "leave"
    assert ("m.room.create", "") in state_keys(again)


def test_a_rejected_invite_is_no_new_room(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, name="Declined")
    since = sync(kit, bob)["next_batch"]
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room}/invite", alice.access_token,
                    json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    leave(kit, bob, room)
    left = sync(kit, bob, since)["rooms"]["leave"][room]
    assert left["timeline"]["events"][-1]["content"]["membership"] == "leave"
    # Bob never joined: his leave is news, the room's state is not (Synapse's answer).
    assert ("m.room.create", "") not in state_keys(left)


def test_include_leave(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat")
    join(kit, bob, room)
    say(kit, alice, room, 2)
    leave(kit, bob, room)
    with_leave = {"room": {"include_leave": True}}
    # Initial sync: only with include_leave.
    assert room not in sync(kit, bob).get("rooms", {}).get("leave", {})
    left = sync(kit, bob, None, with_leave)["rooms"]["leave"][room]
    assert left["timeline"]["events"][-1]["content"]["membership"] == "leave"
    # full_state on an incremental sync, too.
    since = sync(kit, bob)["next_batch"]
    full = sync(kit, bob, since, with_leave, full_state="true")
    assert room in full["rooms"]["leave"]
    assert room not in sync(kit, bob, since, full_state="true").get(
        "rooms", {}).get("leave", {})
    # A room left in the window is always reported, like a join would be.
    other = create_room(kit, alice, preset="public_chat")
    join(kit, bob, other)
    since = sync(kit, bob)["next_batch"]
    leave(kit, bob, other)
    assert other in sync(kit, bob, since)["rooms"]["leave"]


def presence_of(body: dict[str, Any]) -> dict[str, str]:
    return {e["sender"]: e["content"]["presence"] for e in body["presence"]["events"]}


def test_own_presence_is_in_own_sync(kit: Kit) -> None:
    loner = kit.register_user()
    first = sync(kit, loner)
    assert presence_of(first).get(loner.user_id) == "online"
    r = kit.request("PUT", f"/_matrix/client/v3/presence/{quote(loner.user_id)}/status",
                    loner.access_token, json={"presence": "unavailable", "status_msg": "away"})
    assert r.status_code == 200, r.text
    later = sync(kit, loner, first["next_batch"], set_presence="unavailable")
    mine = [e for e in later["presence"]["events"] if e["sender"] == loner.user_id]
    assert mine and mine[-1]["content"]["status_msg"] == "away"


def test_new_room_mates_see_each_others_presence_once(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    for user, state in ((alice, "unavailable"), (bob, "online")):
        r = kit.request("PUT", f"/_matrix/client/v3/presence/{quote(user.user_id)}/status",
                        user.access_token, json={"presence": state})
        assert r.status_code == 200, r.text
    room = create_room(kit, alice, preset="public_chat")
    alice_since = sync(kit, alice, set_presence="unavailable")["next_batch"]
    bob_since = sync(kit, bob)["next_batch"]
    join(kit, bob, room)
    # Neither's presence changed after they came to share the room; each sees the
    # other's current presence once.
    for_alice = sync(kit, alice, alice_since, set_presence="unavailable")
    assert presence_of(for_alice).get(bob.user_id) == "online"
    for_bob = sync(kit, bob, bob_since)
    assert presence_of(for_bob).get(alice.user_id) == "unavailable"
    send_event(kit, alice, room)
    assert bob.user_id not in presence_of(
        sync(kit, alice, for_alice["next_batch"], set_presence="unavailable"))
    assert alice.user_id not in presence_of(sync(kit, bob, for_bob["next_batch"]))
