"""History over federation: a server that joins a room late pages ``/messages`` back
past its join and gets the room's earlier history from a server in the room
(``backfill``), in order, once each, without it showing in ``/sync`` as new or touching
the room's current state."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.api.federation_rooms_kit import RoomPair, join_on_a, state_ids
from tests.api.federation_rooms_kit import rooms_pair as rooms_pair
from tests.kit import Kit, User, create_room, send_event, unique, wait_until


def page_all(kit: Kit, user: User, room_id: str, limit: int) -> list[dict[str, Any]]:
    """The whole timeline, paged back ``limit`` events at a time; oldest first."""
    events: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(200):
        query = f"dir=b&limit={limit}" + (f"&from={quote(token)}" if token else "")
        r = kit.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/messages?"
                        + query, user.access_token)
        assert r.status_code == 200, r.text
        body = r.json()
        events.extend(body["chunk"])
        if "end" not in body:
            return list(reversed(events))
        token = body["end"]
    raise AssertionError("paging never ended")


def texts(events: list[dict[str, Any]], prefix: str) -> list[str]:
    return [e["content"]["body"] for e in events if e["type"] == "m.room.message"
            and str(e["content"].get("body", "")).startswith(prefix)]


def test_a_late_joiner_pages_back_into_history_from_before_its_join(
        rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    r = p.kit_a.request("PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                        "m.room.topic/", alice.access_token, json={"topic": "old topic"})
    assert r.status_code == 200, r.text
    old = [f"old {i}" for i in range(40)]
    for i, body in enumerate(old):
        send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": body})
        if i == 20:  # a state change in the middle of the history
            r = p.kit_a.request("PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                                "m.room.topic/", alice.access_token,
                                json={"topic": "newer topic"})
            assert r.status_code == 200, r.text
    join_on_a(p, alice, bob, room_id)
    before = state_ids(p.kit_b, bob, room_id)
    r = p.kit_b.request("GET", "/_matrix/client/v3/sync?timeout=0", bob.access_token)
    assert r.status_code == 200, r.text
    since = r.json()["next_batch"]

    # Small pages: the history comes in several backfills, each where the page needs it.
    events = page_all(p.kit_b, bob, room_id, 7)
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids)), "an event came twice"
    assert texts(events, "old ") == old
    on_a = page_all(p.kit_a, alice, room_id, 100)
    assert [e["event_id"] for e in events] == [e["event_id"] for e in on_a]

    # Paging again reads what is stored: same answer, nothing new.
    assert [e["event_id"] for e in page_all(p.kit_b, bob, room_id, 50)] == ids
    # History is not news: /sync has none of it, and the current state is unchanged.
    r = p.kit_b.request("GET", f"/_matrix/client/v3/sync?timeout=0&since={since}",
                        bob.access_token)
    assert r.status_code == 200, r.text
    timeline = r.json().get("rooms", {}).get("join", {}).get(room_id, {}) \
        .get("timeline", {}).get("events", [])
    assert texts(timeline, "old ") == []
    assert state_ids(p.kit_b, bob, room_id) == before
    r = p.kit_b.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                        "m.room.topic/", bob.access_token)
    assert r.json() == {"topic": "newer topic"}

    # New messages after it flow as before, and show after the history.
    send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "new 1"})
    wait_until(lambda: texts(page_all(p.kit_b, bob, room_id, 50), "new ") == ["new 1"],
               what="a new message on B")
    assert texts(page_all(p.kit_b, bob, room_id, 50), "")[-1] == "new 1"
