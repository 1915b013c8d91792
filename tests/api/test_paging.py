"""Pagination tokens of ``/messages``, ``/context`` and ``/sync`` point *between* events.

Spec (``/messages``): ``from`` is "the token to start returning events from. This token
can be obtained from a ``prev_batch`` or ``next_batch`` token returned by the ``/sync``
endpoint, or from an ``end`` token returned by a previous request to this endpoint";
``end`` is omitted only when no further events are available. So a token never skips
the event beside it, and sync tokens page ``/messages`` too.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User, create_room, send_event

V3 = "/_matrix/client/v3"


def _messages(kit: Kit, user: User, room_id: str, **params: Any) -> dict[str, Any]:
    r = kit.request("GET", f"{V3}/rooms/{room_id}/messages", user.access_token,
                    params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _bodies(chunk: list[dict[str, Any]]) -> list[str]:
    return [e["content"].get("body", "") for e in chunk if e["type"] == "m.room.message"]


def _room(kit: Kit, count: int) -> tuple[User, str, list[str]]:
    alice = kit.register_user()
    room_id = create_room(kit, alice)
    ids = [send_event(kit, alice, room_id, {"msgtype": "m.text", "body": f"m{i}"})
           for i in range(1, count + 1)]
    return alice, room_id, ids


def _context(kit: Kit, user: User, room_id: str, event_id: str, limit: int
             ) -> dict[str, Any]:
    r = kit.request("GET", f"{V3}/rooms/{room_id}/context/{quote(event_id)}?limit={limit}",
                    user.access_token)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_context_tokens_do_not_skip_the_adjacent_event(kit: Kit) -> None:
    alice, room_id, ids = _room(kit, 5)
    newest = _context(kit, alice, room_id, ids[-1], 0)
    assert newest["events_before"] == [] and newest["events_after"] == []
    # Back from the end of the newest event's context: that event first.
    back = _messages(kit, alice, room_id, dir="b", limit=2, **{"from": newest["end"]})
    assert _bodies(back["chunk"]) == ["m5", "m4"]
    # Back from its start: the event before it.
    back = _messages(kit, alice, room_id, dir="b", limit=1, **{"from": newest["start"]})
    assert _bodies(back["chunk"]) == ["m4"]

    middle = _context(kit, alice, room_id, ids[2], 2)
    assert _bodies(middle["events_before"]) == ["m2"]
    assert _bodies(middle["events_after"]) == ["m4"]
    back = _messages(kit, alice, room_id, dir="b", limit=1, **{"from": middle["start"]})
    assert _bodies(back["chunk"]) == ["m1"]
    ahead = _messages(kit, alice, room_id, dir="f", limit=5, **{"from": middle["end"]})
    assert _bodies(ahead["chunk"]) == ["m5"]


def test_messages_end_token_continues_without_gap_or_repeat(kit: Kit) -> None:
    alice, room_id, _ = _room(kit, 5)
    seen: list[str] = []
    token = None
    for _ in range(10):
        params: dict[str, Any] = {"dir": "b", "limit": 2}
        if token:
            params["from"] = token
        page = _messages(kit, alice, room_id, **params)
        seen += _bodies(page["chunk"])
        token = page.get("end")
        if token is None:
            break
    assert seen == ["m5", "m4", "m3", "m2", "m1"]
    # Forwards from the beginning, page by page, the same events in order.
    seen, token = [], None
    for _ in range(10):
        params = {"dir": "f", "limit": 3}
        if token:
            params["from"] = token
        page = _messages(kit, alice, room_id, **params)
        if not page["chunk"]:
            break
        seen += _bodies(page["chunk"])
        assert "end" in page  # more may come: the room goes on
        token = page["end"]
    assert seen == ["m1", "m2", "m3", "m4", "m5"]


def test_sync_tokens_page_messages(kit: Kit) -> None:
    alice, room_id, _ = _room(kit, 5)
    sync_filter = json.dumps({"room": {"timeline": {"limit": 2}}})
    r = kit.request("GET", f"{V3}/sync", alice.access_token, params={"filter": sync_filter})
    assert r.status_code == 200, r.text
    body = r.json()
    timeline = body["rooms"]["join"][room_id]["timeline"]
    assert _bodies(timeline["events"]) == ["m4", "m5"]
    back = _messages(kit, alice, room_id, dir="b", limit=1,
                     **{"from": timeline["prev_batch"]})
    assert _bodies(back["chunk"]) == ["m3"]

    next_batch = body["next_batch"]
    send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "m6"})
    back = _messages(kit, alice, room_id, dir="b", limit=1, **{"from": next_batch})
    assert _bodies(back["chunk"]) == ["m5"]
    ahead = _messages(kit, alice, room_id, dir="f", limit=5, **{"from": next_batch})
    assert _bodies(ahead["chunk"]) == ["m6"]
