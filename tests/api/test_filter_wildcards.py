"""The filter language's ``*`` wildcards (spec: Filtering, "A '*' can be used as a
wildcard to match any sequence of characters") apply alike in ``/messages``,
``/context``, ``/sync`` and ``/search``, to ``types``/``not_types`` and, as this server
also allows, to ``senders``/``not_senders`` and ``rooms``/``not_rooms``; a hostile
pattern is matched in linear time."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.api.test_search import say, search, word
from tests.api.test_security_globs import HOSTILE
from tests.kit import Kit, User, create_room, send_event, unique

V3 = "/_matrix/client/v3"


def _room(kit: Kit) -> tuple[User, User, str, str]:
    """alice and bob (localpart ``bob…``) in a room with two ``org.example.*``
    events, one message each and one from bob; returns the room ID and a search word."""
    alice, bob = kit.register_user(), kit.register_user(unique("bob"))
    room_id = create_room(kit, alice, preset="public_chat")
    r = kit.request("POST", f"{V3}/join/{quote(room_id)}", bob.access_token, json={})
    assert r.status_code == 200, r.text
    w = word()
    send_event(kit, alice, room_id, {"n": 1}, event_type="org.example.one")
    send_event(kit, bob, room_id, {"n": 2}, event_type="org.example.two")
    say(kit, alice, room_id, f"{w} from alice")
    say(kit, bob, room_id, f"{w} from bob")
    return alice, bob, room_id, w


def _messages(kit: Kit, user: User, room_id: str, event_filter: dict[str, Any]
              ) -> list[dict[str, Any]]:
    r = kit.request("GET", f"{V3}/rooms/{room_id}/messages", user.access_token,
                    params={"dir": "b", "limit": 50, "filter": json.dumps(event_filter)})
    assert r.status_code == 200, r.text
    chunk: list[dict[str, Any]] = r.json()["chunk"]
    return chunk


def test_messages_filter_wildcards(kit: Kit) -> None:
    alice, bob, room_id, _ = _room(kit)
    types = [e["type"] for e in _messages(kit, alice, room_id, {"types": ["org.example.*"]})]
    assert types == ["org.example.two", "org.example.one"]
    chunk = _messages(kit, alice, room_id, {"not_types": ["m.room.*", "org.*.one"]})
    assert [e["type"] for e in chunk] == ["org.example.two"]
    bob_prefix = bob.user_id.split(":")[0][:4] + "*"
    chunk = _messages(kit, alice, room_id, {"senders": [bob_prefix],
                                            "types": ["m.room.message"]})
    assert [e["content"]["body"].split()[-1] for e in chunk] == ["bob"]
    chunk = _messages(kit, alice, room_id, {"not_senders": [bob_prefix], "types": ["*"]})
    assert bob.user_id not in {e["sender"] for e in chunk} and chunk
    assert _messages(kit, alice, room_id, {"rooms": ["!*"], "types": ["org.*"]})
    assert _messages(kit, alice, room_id, {"not_rooms": [room_id[:4] + "*"]}) == []
    # A literal star or underscore is not an SQL pattern.
    assert _messages(kit, alice, room_id, {"types": ["org_example%"]}) == []


def test_wildcard_filter_pages_through_sparse_matches(kit: Kit) -> None:
    """A wildcard filter that few events pass still fills the page and pages on."""
    alice = kit.register_user()
    room_id = create_room(kit, alice)
    wanted = [send_event(kit, alice, room_id, {"i": i}, event_type=f"org.example.x{i}")
              for i in range(3)]
    for _ in range(12):
        send_event(kit, alice, room_id)
    r = kit.request("GET", f"{V3}/rooms/{room_id}/messages", alice.access_token, params={
        "dir": "f", "limit": 2, "filter": json.dumps({"types": ["org.example.*"]})})
    body = r.json()
    assert [e["event_id"] for e in body["chunk"]] == wanted[:2]
    r = kit.request("GET", f"{V3}/rooms/{room_id}/messages", alice.access_token, params={
        "dir": "f", "limit": 2, "from": body["end"],
        "filter": json.dumps({"types": ["org.example.*"]})})
    assert [e["event_id"] for e in r.json()["chunk"]] == wanted[2:]


def test_context_and_sync_filter_wildcards(kit: Kit) -> None:
    alice, bob, room_id, _ = _room(kit)
    first = _messages(kit, alice, room_id, {"types": ["org.example.one"]})[0]["event_id"]
    r = kit.request("GET", f"{V3}/rooms/{room_id}/context/{quote(first)}", alice.access_token,
                    params={"limit": 10, "filter": json.dumps({"types": ["org.example.*"]})})
    assert r.status_code == 200, r.text
    assert [e["type"] for e in r.json()["events_after"]] == ["org.example.two"]
    sync_filter = {"room": {"rooms": [room_id[:6] + "*"],
                            "timeline": {"types": ["org.example.*"], "limit": 10,
                                         "senders": [bob.user_id.split(":")[0][:4] + "*"]},
                            "state": {"types": ["m.room.c*"]}}}
    r = kit.request("GET", f"{V3}/sync", alice.access_token,
                    params={"filter": json.dumps(sync_filter)})
    room = r.json()["rooms"]["join"][room_id]
    assert [e["type"] for e in room["timeline"]["events"]] == ["org.example.two"]
    assert {e["type"] for e in room["state"]["events"]} <= {"m.room.create"}


def test_search_uses_the_same_filter_model(kit: Kit) -> None:
    alice, bob, room_id, w = _room(kit)
    bob_prefix = bob.user_id.split(":")[0][:4] + "*"
    found = search(kit, alice, w, filter={"senders": [bob_prefix]})
    assert [r["result"]["sender"] for r in found["results"]] == [bob.user_id]
    found = search(kit, alice, w, filter={"not_senders": [bob_prefix]})
    assert [r["result"]["sender"] for r in found["results"]] == [alice.user_id]
    assert search(kit, alice, w, filter={"rooms": [room_id[:5] + "*"]})["count"] == 2
    assert search(kit, alice, w, filter={"not_rooms": ["!*"]})["count"] == 0
    assert search(kit, alice, w, filter={"types": ["m.room.*"]})["count"] == 2
    assert search(kit, alice, w, filter={"not_types": ["m.room.m*"]})["count"] == 0


def test_hostile_pattern_in_messages_answers(kit: Kit) -> None:
    """A pattern that stalls a backtracking matcher (see test_security_globs) is
    answered: the kit's client gives up after 30 s otherwise."""
    alice = kit.register_user()
    room_id = create_room(kit, alice)
    send_event(kit, alice, room_id, {"body": "x"}, event_type="a" * 250)
    send_event(kit, alice, room_id, {"body": "y"}, event_type="a" * 249 + "b")
    chunk = _messages(kit, alice, room_id, {"types": [HOSTILE]})
    assert [e["type"] for e in chunk] == ["a" * 249 + "b"]
