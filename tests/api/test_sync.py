"""``/sync`` over real HTTP: initial and incremental syncs, long-polling, limited
timelines, lazy-loaded members, ephemeral data, account data, presence, memberships,
filters, and bad input."""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User, assert_error, create_room, send_event, unique


def _sync(kit: Kit, user: User, since: str | None = None, timeout: int = 0,
          filter_: Any = None, **params: str) -> dict[str, Any]:
    query: dict[str, str] = {"timeout": str(timeout), **params}
    if since is not None:
        query["since"] = since
    if filter_ is not None:
        query["filter"] = filter_ if isinstance(filter_, str) else json.dumps(filter_)
    r = kit.request("GET", "/_matrix/client/v3/sync", user.access_token, params=query)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"/_matrix/client/v3/join/{room_id}", user.access_token, json={})
    assert r.status_code == 200, r.text


def _bodies(room: dict[str, Any]) -> list[str]:
    return [e["content"]["body"] for e in room["timeline"]["events"]
            if e["type"] == "m.room.message"]


def test_initial_and_incremental_sync(kit: Kit) -> None:
    alice = kit.register_user()
    room = create_room(kit, alice, name="Sync room")
    send_event(kit, alice, room, {"msgtype": "m.text", "body": "first"})
    body = _sync(kit, alice)
    assert body["next_batch"].startswith("s")
    joined = body["rooms"]["join"][room]
    assert _bodies(joined) == ["first"]
    state_types = {e["type"] for e in joined["state"]["events"]} | {
        e["type"] for e in joined["timeline"]["events"] if "state_key" in e}
    assert {"m.room.create", "m.room.member", "m.room.power_levels", "m.room.name"} <= \
        state_types
    assert joined["summary"]["m.joined_member_count"] == 1
    assert joined["timeline"]["prev_batch"]

    # Nothing new: an incremental sync is empty and keeps the position.
    again = _sync(kit, alice, body["next_batch"])
    assert room not in again.get("rooms", {}).get("join", {})
    send_event(kit, alice, room, {"msgtype": "m.text", "body": "second"})
    later = _sync(kit, alice, again["next_batch"])
    room_later = later["rooms"]["join"][room]
    assert _bodies(room_later) == ["second"]
    assert room_later["timeline"]["limited"] is False
    assert room_later["state"]["events"] == []
    # The transaction ID comes back to the sending device only.
    assert any("transaction_id" in e.get("unsigned", {})
               for e in room_later["timeline"]["events"])


def test_long_poll_wakes_on_message(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat")
    _join(kit, bob, room)
    since = _sync(kit, bob)["next_batch"]

    def send_later() -> None:
        # Lets the long-poll start waiting first (what is under test: the wake-up).
        time.sleep(0.5)
        send_event(kit, alice, room, {"msgtype": "m.text", "body": "wake up"})

    sender = threading.Thread(target=send_later)
    started = time.monotonic()
    sender.start()
    body = _sync(kit, bob, since, timeout=20_000)
    elapsed = time.monotonic() - started
    sender.join()
    assert _bodies(body["rooms"]["join"][room]) == ["wake up"]
    assert elapsed < 10, elapsed
    # And a timeout with nothing for this user returns an empty response (the position
    # may move on: other users' presence and typing share the stream).
    started = time.monotonic()
    quiet = _sync(kit, bob, body["next_batch"], timeout=300)
    assert time.monotonic() - started >= 0.25
    assert not quiet.get("rooms", {}).get("join")


def test_thirty_messages_while_away_limited(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat")
    _join(kit, bob, room)
    since = _sync(kit, bob)["next_batch"]
    sent = [f"m{i}" for i in range(30)]
    for text in sent:
        send_event(kit, alice, room, {"msgtype": "m.text", "body": text})
    body = _sync(kit, bob, since, filter_={"room": {"timeline": {"limit": 10}}})
    joined = body["rooms"]["join"][room]
    assert _bodies(joined) == sent[-10:]
    assert joined["timeline"]["limited"] is True
    # prev_batch pages back through exactly the rest, in order.
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room}/messages", bob.access_token,
                    params={"dir": "b", "from": joined["timeline"]["prev_batch"],
                            "limit": "20"})
    assert r.status_code == 200, r.text
    earlier = [e["content"]["body"] for e in r.json()["chunk"]
               if e["type"] == "m.room.message"]
    assert earlier == sent[-11::-1]
    # Without a limit filter the default is 10 too, and an unfiltered sync is not limited
    # when everything fits.
    send_event(kit, alice, room, {"msgtype": "m.text", "body": "one more"})
    small = _sync(kit, bob, body["next_batch"])
    assert _bodies(small["rooms"]["join"][room]) == ["one more"]
    assert small["rooms"]["join"][room]["timeline"]["limited"] is False


def test_typing_and_receipts(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat")
    _join(kit, bob, room)
    event_id = send_event(kit, alice, room)
    since = _sync(kit, bob)["next_batch"]
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/typing/{quote(alice.user_id)}",
                    alice.access_token, json={"typing": True, "timeout": 30000})
    assert r.status_code == 200, r.text
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room}/receipt/m.read/{event_id}",
                    bob.access_token, json={})
    assert r.status_code == 200, r.text
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room}/read_markers", alice.access_token,
                    json={"m.fully_read": event_id, "m.read.private": event_id})
    assert r.status_code == 200, r.text
    body = _sync(kit, bob, since)
    ephemeral = {e["type"]: e["content"]
                 for e in body["rooms"]["join"][room]["ephemeral"]["events"]}
    assert ephemeral["m.typing"] == {"user_ids": [alice.user_id]}
    assert bob.user_id in ephemeral["m.receipt"][event_id]["m.read"]
    assert "m.read.private" not in ephemeral["m.receipt"][event_id]  # alice's is private

    mine = _sync(kit, alice, since)["rooms"]["join"][room]
    receipts = [e for e in mine["ephemeral"]["events"] if e["type"] == "m.receipt"]
    assert alice.user_id in receipts[0]["content"][event_id]["m.read.private"]
    fully_read = [e for e in mine["account_data"]["events"] if e["type"] == "m.fully_read"]
    assert fully_read == [{"type": "m.fully_read", "content": {"event_id": event_id}}]

    after = body["next_batch"]
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/typing/{quote(alice.user_id)}",
                    alice.access_token, json={"typing": False})
    stopped = _sync(kit, bob, after, timeout=5000)
    typing = [e for e in stopped["rooms"]["join"][room]["ephemeral"]["events"]
              if e["type"] == "m.typing"]
    assert typing == [{"type": "m.typing", "content": {"user_ids": []}}]

    assert_error(kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/typing/"
                             f"{quote(bob.user_id)}", alice.access_token,
                             json={"typing": True}), 403, "M_FORBIDDEN")
    assert_error(kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/typing/"
                             f"{quote(alice.user_id)}", alice.access_token,
                             json={"typing": "yes"}), 400, "M_BAD_JSON")
    assert_error(kit.request("POST", f"/_matrix/client/v3/rooms/{room}/receipt/m.bogus/"
                             f"{event_id}", bob.access_token, json={}), 400, "M_INVALID_PARAM")
    assert_error(kit.request("POST", f"/_matrix/client/v3/rooms/{room}/receipt/m.read/"
                             "$nope", bob.access_token, json={}), 404, "M_NOT_FOUND")


def test_typing_times_out(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat")
    _join(kit, bob, room)
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/typing/{quote(alice.user_id)}",
                    alice.access_token, json={"typing": True, "timeout": 500})
    assert r.status_code == 200
    body = _sync(kit, bob)
    since = body["next_batch"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = _sync(kit, bob, since, timeout=3000)
        since = body["next_batch"]
        events = body.get("rooms", {}).get("join", {}).get(room, {}).get(
            "ephemeral", {}).get("events", [])
        if {"type": "m.typing", "content": {"user_ids": []}} in events:
            break
    else:
        raise AssertionError("typing never expired")


def test_lazy_loaded_members(kit: Kit) -> None:
    owner = kit.register_user()
    room = create_room(kit, owner, preset="public_chat")
    quiet = [kit.register_user() for _ in range(4)]
    talker = kit.register_user()
    for user in (*quiet, talker):
        _join(kit, user, room)
    for i in range(12):
        send_event(kit, talker, room, {"msgtype": "m.text", "body": f"t{i}"})
    reader = kit.register_user()
    _join(kit, reader, room)
    send_event(kit, talker, room, {"msgtype": "m.text", "body": "last"})
    lazy = {"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 5}}}
    joined = _sync(kit, reader, filter_=lazy)["rooms"]["join"][room]
    members = {e["state_key"] for e in joined["state"]["events"]
               if e["type"] == "m.room.member"}
    members |= {e["state_key"] for e in joined["timeline"]["events"]
                if e["type"] == "m.room.member"}
    assert members == {talker.user_id, reader.user_id}
    assert joined["summary"]["m.joined_member_count"] == 7
    full = _sync(kit, reader)["rooms"]["join"][room]
    all_members = {e["state_key"] for e in full["state"]["events"]
                   if e["type"] == "m.room.member"}
    assert {u.user_id for u in (owner, *quiet, talker)} <= all_members


def test_account_data_and_tags(kit: Kit) -> None:
    alice, eve = kit.register_user(), kit.register_user()
    room = create_room(kit, alice)
    since = _sync(kit, alice)["next_batch"]
    base = f"/_matrix/client/v3/user/{quote(alice.user_id)}"
    r = kit.request("PUT", f"{base}/account_data/org.example.settings", alice.access_token,
                    json={"theme": "dark"})
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"{base}/account_data/org.example.settings", alice.access_token)
    assert r.json() == {"theme": "dark"}
    r = kit.request("PUT", f"{base}/rooms/{room}/account_data/org.example.room",
                    alice.access_token, json={"pinned": True})
    assert r.status_code == 200
    r = kit.request("PUT", f"{base}/rooms/{room}/tags/m.favourite", alice.access_token,
                    json={"order": 0.5})
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"{base}/rooms/{room}/tags", alice.access_token)
    assert r.json() == {"tags": {"m.favourite": {"order": 0.5}}}
    body = _sync(kit, alice, since)
    assert {"type": "org.example.settings", "content": {"theme": "dark"}} in \
        body["account_data"]["events"]
    room_data = {e["type"]: e["content"]
                 for e in body["rooms"]["join"][room]["account_data"]["events"]}
    assert room_data["m.tag"] == {"tags": {"m.favourite": {"order": 0.5}}}
    assert room_data["org.example.room"] == {"pinned": True}
    r = kit.request("DELETE", f"{base}/rooms/{room}/tags/m.favourite", alice.access_token)
    assert r.status_code == 200
    assert kit.request("GET", f"{base}/rooms/{room}/tags",
                       alice.access_token).json() == {"tags": {}}

    assert_error(kit.request("PUT", f"{base}/account_data/m.fully_read", alice.access_token,
                             json={}), 405, "M_BAD_JSON")
    assert_error(kit.request("GET", f"{base}/account_data/org.example.none",
                             alice.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{base}/account_data/org.example.settings",
                             eve.access_token), 403, "M_FORBIDDEN")
    assert_error(kit.request("PUT", f"{base}/rooms/not-a-room/account_data/x",
                             alice.access_token, json={}), 400, "M_INVALID_PARAM")
    assert_error(kit.request("PUT", f"{base}/account_data/x", alice.access_token,
                             content=b"[1]"), 400, "M_BAD_JSON")


def test_presence(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat")
    _join(kit, bob, room)
    since = _sync(kit, bob)["next_batch"]
    r = kit.request("PUT", f"/_matrix/client/v3/presence/{quote(alice.user_id)}/status",
                    alice.access_token, json={"presence": "unavailable", "status_msg": "lunch"})
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"/_matrix/client/v3/presence/{quote(alice.user_id)}/status",
                    bob.access_token)
    assert r.json()["presence"] == "unavailable" and r.json()["status_msg"] == "lunch"
    body = _sync(kit, bob, since)
    mine = [e for e in body["presence"]["events"] if e["sender"] == alice.user_id]
    assert mine and mine[0]["content"]["presence"] == "unavailable"
    assert_error(kit.request("PUT", f"/_matrix/client/v3/presence/{quote(alice.user_id)}/"
                             "status", bob.access_token, json={"presence": "online"}),
                 403, "M_FORBIDDEN")
    assert_error(kit.request("PUT", f"/_matrix/client/v3/presence/{quote(alice.user_id)}/"
                             "status", alice.access_token, json={"presence": "asleep"}),
                 400, "M_BAD_JSON")
    assert_error(kit.request("GET", "/_matrix/client/v3/presence/"
                             f"{quote('@nobody' + unique() + ':localhost')}/status",
                             bob.access_token), 404, "M_NOT_FOUND")


def test_invite_and_leave_sections(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    since = _sync(kit, bob)["next_batch"]
    room = create_room(kit, alice, name="Secret")
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room}/invite", alice.access_token,
                    json={"user_id": bob.user_id})
    assert r.status_code == 200
    body = _sync(kit, bob, since, timeout=5000)
    invite = body["rooms"]["invite"][room]["invite_state"]["events"]
    assert {"m.room.create", "m.room.name", "m.room.member"} <= {e["type"] for e in invite}
    _join(kit, bob, room)
    body = _sync(kit, bob, body["next_batch"])
    assert room in body["rooms"]["join"]
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room}/leave", bob.access_token,
                    json={})
    assert r.status_code == 200
    body = _sync(kit, bob, body["next_batch"])
    left = body["rooms"]["leave"][room]
    assert left["timeline"]["events"][-1]["content"]["membership"] == "leave"
    assert room not in body["rooms"].get("join", {})
    assert room not in _sync(kit, bob).get("rooms", {}).get("leave", {})
    included = _sync(kit, bob, filter_={"room": {"include_leave": True}})
    assert room in included["rooms"]["leave"]


def test_stored_filters_and_bad_input(kit: Kit) -> None:
    alice, eve = kit.register_user(), kit.register_user()
    room = create_room(kit, alice)
    send_event(kit, alice, room, {"msgtype": "m.text", "body": "x"})
    base = f"/_matrix/client/v3/user/{quote(alice.user_id)}/filter"
    definition = {"room": {"timeline": {"limit": 1, "types": ["m.room.*"]}},
                  "event_fields": ["type", "content.body"]}
    r = kit.request("POST", base, alice.access_token, json=definition)
    assert r.status_code == 200, r.text
    filter_id = r.json()["filter_id"]
    assert kit.request("GET", f"{base}/{filter_id}", alice.access_token).json() == definition
    body = _sync(kit, alice, filter_=filter_id)
    [event] = body["rooms"]["join"][room]["timeline"]["events"]
    assert event == {"type": "m.room.message", "content": {"body": "x"}}

    for bad in ({"room": {"timeline": {"limit": "ten"}}}, {"room": {"rooms": "!x:y"}},
                {"event_format": "xml"}, {"presence": {"senders": ["not-a-user"]}},
                {"room": []}):
        assert_error(kit.request("POST", base, alice.access_token, json=bad), 400,
                     "M_BAD_JSON")
    assert_error(kit.request("POST", base, eve.access_token, json={}), 403, "M_FORBIDDEN")
    assert_error(kit.request("GET", f"{base}/999999", alice.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{base}/abc", alice.access_token), 404, "M_NOT_FOUND")
    sync = "/_matrix/client/v3/sync"
    for params, errcode in (({"filter": "12345"}, "M_INVALID_PARAM"),
                            ({"filter": "{not json"}, "M_NOT_JSON"),
                            ({"filter": '{"room": {"timeline": {"limit": -1}}}'}, "M_BAD_JSON"),
                            ({"since": "garbage"}, "M_INVALID_PARAM"),
                            ({"since": "s" + "9" * 40}, "M_INVALID_PARAM"),
                            ({"timeout": "soon"}, "M_INVALID_PARAM"),
                            ({"set_presence": "busy"}, "M_INVALID_PARAM"),
                            ({"full_state": "maybe"}, "M_INVALID_PARAM")):
        assert_error(kit.request("GET", sync, alice.access_token, params=params), 400, errcode)
    assert_error(kit.request("GET", sync), 401, "M_MISSING_TOKEN")


def test_full_state_and_federation_format(kit: Kit) -> None:
    alice = kit.register_user()
    room = create_room(kit, alice)
    since = _sync(kit, alice)["next_batch"]
    body = _sync(kit, alice, since, full_state="true")
    joined = body["rooms"]["join"][room]
    assert any(e["type"] == "m.room.create" for e in
               joined["state"]["events"] + joined["timeline"]["events"])
    raw = _sync(kit, alice, filter_={"event_format": "federation"})
    event = raw["rooms"]["join"][room]["timeline"]["events"][-1]
    assert "hashes" in event and "signatures" in event


def test_unread_notifications_and_push_rules(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat")
    _join(kit, bob, room)
    first = _sync(kit, bob)
    rules = [e for e in first["account_data"]["events"] if e["type"] == "m.push_rules"]
    assert rules and "global" in rules[0]["content"]
    since = first["next_batch"]
    last = ""
    for i in range(3):
        last = send_event(kit, alice, room, {"msgtype": "m.text", "body": f"n{i}"})
    body = _sync(kit, bob, since)
    assert body["rooms"]["join"][room]["unread_notifications"] == {
        "notification_count": 3, "highlight_count": 0}
    assert not [e for e in body["account_data"]["events"] if e["type"] == "m.push_rules"]
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room}/receipt/m.read/{last}",
                    bob.access_token, json={})
    assert r.status_code == 200
    body = _sync(kit, bob, body["next_batch"])
    assert body["rooms"]["join"][room]["unread_notifications"]["notification_count"] == 0
    # Changing a rule resends m.push_rules.
    r = kit.request("PUT", "/_matrix/client/v3/pushrules/global/override/.m.rule.master/"
                    "enabled", bob.access_token, json={"enabled": True})
    assert r.status_code == 200, r.text
    body = _sync(kit, bob, body["next_batch"])
    assert [e for e in body["account_data"]["events"] if e["type"] == "m.push_rules"]
