"""The deprecated endpoints older clients and bridges still call (spec: old_sync,
room_initial_sync, peeking_events): ``GET /initialSync``, ``GET /events``,
``GET /events/{eventId}``, ``GET /rooms/{roomId}/initialSync``, and peeking into a
``world_readable`` room through them."""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import quote

from tests.api.test_sync_rooms import join, leave, set_state
from tests.kit import Kit, User, assert_error, create_room, send_event

V3 = "/_matrix/client/v3"


def get(kit: Kit, user: User, path: str, **params: str) -> dict[str, Any]:
    r = kit.request("GET", f"{V3}{path}", user.access_token, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def bodies(events: list[dict[str, Any]]) -> list[str]:
    return [e["content"]["body"] for e in events if e["type"] == "m.room.message"]


def test_initial_sync(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat", name="Old style")
    join(kit, bob, room)
    for text in ("one", "two", "three"):
        send_event(kit, alice, room, {"msgtype": "m.text", "body": text})
    invited = create_room(kit, alice)
    r = kit.request("POST", f"{V3}/rooms/{invited}/invite", alice.access_token,
                    json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    gone = create_room(kit, alice, preset="public_chat")
    join(kit, bob, gone)
    send_event(kit, alice, gone, {"msgtype": "m.text", "body": "before leaving"})
    leave(kit, bob, gone)
    send_event(kit, alice, gone, {"msgtype": "m.text", "body": "after leaving"})
    r = kit.request("PUT", f"{V3}/presence/{quote(alice.user_id)}/status",
                    alice.access_token, json={"presence": "online"})
    assert r.status_code == 200, r.text
    r = kit.request("PUT", f"{V3}/user/{quote(bob.user_id)}/account_data/org.example.a",
                    bob.access_token, json={"a": 1})
    assert r.status_code == 200

    body = get(kit, bob, "/initialSync", limit="2")
    assert body["end"].startswith("s")
    assert {"type": "org.example.a", "content": {"a": 1}} in body["account_data"]
    assert any(p["sender"] == alice.user_id for p in body["presence"])
    rooms = {r["room_id"]: r for r in body["rooms"]}
    assert gone not in rooms
    joined = rooms[room]
    assert joined["membership"] == "join"
    assert bodies(joined["messages"]["chunk"]) == ["two", "three"]  # oldest first
    assert joined["messages"]["start"] and joined["messages"]["end"]
    assert {"m.room.create", "m.room.name", "m.room.member"} <= {
        e["type"] for e in joined["state"]}
    assert joined["visibility"] == "private"
    assert rooms[invited]["membership"] == "invite"
    assert rooms[invited]["invite"]["content"]["membership"] == "invite"
    # The start token pages back through /messages.
    r = kit.request("GET", f"{V3}/rooms/{room}/messages", bob.access_token,
                    params={"dir": "b", "from": joined["messages"]["start"], "limit": "1"})
    assert bodies(r.json()["chunk"]) == ["one"]

    archived = {r["room_id"]: r for r in get(kit, bob, "/initialSync",
                                             archived="true")["rooms"]}
    left = archived[gone]
    assert left["membership"] == "leave"
    assert "before leaving" in bodies(left["messages"]["chunk"])
    assert "after leaving" not in bodies(left["messages"]["chunk"])
    assert left["messages"]["chunk"][-1]["content"]["membership"] == "leave"


def test_event_stream(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat")
    join(kit, bob, room)
    end = get(kit, bob, "/initialSync")["end"]
    quiet = get(kit, bob, "/events", **{"from": end, "timeout": "0"})
    assert quiet["chunk"] == [] and quiet["start"] == end
    send_event(kit, alice, room, {"msgtype": "m.text", "body": "streamed"})
    page = get(kit, bob, "/events", **{"from": end, "timeout": "0"})
    assert bodies(page["chunk"]) == ["streamed"] and page["start"] == end
    assert page["end"] != end
    # Long-polling: the answer comes when the event does.

    def later() -> None:
        time.sleep(0.5)
        send_event(kit, alice, room, {"msgtype": "m.text", "body": "woke"})

    thread = threading.Thread(target=later)
    thread.start()
    started = time.monotonic()
    woke = get(kit, bob, "/events", **{"from": page["end"], "timeout": "20000"})
    thread.join()
    assert bodies(woke["chunk"]) == ["woke"] and time.monotonic() - started < 15
    assert_error(kit.request("GET", f"{V3}/events", bob.access_token,
                             params={"from": "nonsense"}), 400, "M_INVALID_PARAM")


def test_single_event(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice)
    event_id = send_event(kit, alice, room, {"msgtype": "m.text", "body": "by id"})
    event = get(kit, alice, f"/events/{quote(event_id)}")
    assert event["event_id"] == event_id and event["room_id"] == room
    assert event["content"]["body"] == "by id"
    # Someone not in the (private) room cannot tell it from a made-up ID.
    assert_error(kit.request("GET", f"{V3}/events/{quote(event_id)}", bob.access_token),
                 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{V3}/events/{quote('$nothing')}", bob.access_token),
                 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{V3}/events/not-an-id", bob.access_token),
                 400, "M_INVALID_PARAM")


def test_peeking_into_a_world_readable_room(kit: Kit) -> None:
    alice, visitor = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat", name="Open book")
    set_state(kit, alice, room, "m.room.history_visibility",
              {"history_visibility": "world_readable"})
    send_event(kit, alice, room, {"msgtype": "m.text", "body": "for everyone"})
    peek = get(kit, visitor, f"/rooms/{room}/initialSync")
    assert peek["room_id"] == room and "membership" not in peek
    assert "for everyone" in bodies(peek["messages"]["chunk"])
    assert ("m.room.name", "") in {(e["type"], e["state_key"]) for e in peek["state"]}
    assert isinstance(peek["presence"], list)
    # Then follow the room's new events with /events?room_id=.
    end = get(kit, visitor, "/events", room_id=room, timeout="0")["end"]
    send_event(kit, alice, room, {"msgtype": "m.text", "body": "still open"})
    page = get(kit, visitor, "/events", room_id=room, timeout="0", **{"from": end})
    assert bodies(page["chunk"]) == ["still open"]

    # A room that is not world_readable cannot be peeked into.
    private = create_room(kit, alice, preset="public_chat")
    for path, params in ((f"/rooms/{private}/initialSync", {}),
                         ("/events", {"room_id": private, "timeout": "0"})):
        assert_error(kit.request("GET", f"{V3}{path}", visitor.access_token, params=params),
                     403, "M_FORBIDDEN")
    assert_error(kit.request("GET", f"{V3}/rooms/!nowhere:localhost/initialSync",
                             visitor.access_token), 404, "M_NOT_FOUND")
