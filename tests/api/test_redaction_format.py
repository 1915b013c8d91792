"""Redaction events as clients see them: ``redacts`` at the top level and in content.

Room versions 11+ move ``redacts`` into content (spec: rooms/v11, "Moving the redacts
property"); the Client-Server API still serves it at the top level for older clients, and
older room versions get it in content too, for clients written for version 11.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.kit import Kit, User, create_room, send_event

V3 = "/_matrix/client/v3"


def _redaction_views(kit: Kit, user: User, room_id: str, redaction_id: str
                     ) -> list[tuple[str, dict[str, Any]]]:
    """The redaction event through every client-facing read path."""
    def find(events: list[dict[str, Any]]) -> dict[str, Any]:
        [event] = [e for e in events if e["event_id"] == redaction_id]
        return event

    views = []
    r = kit.request("GET", f"{V3}/rooms/{room_id}/event/{quote(redaction_id)}",
                    user.access_token)
    assert r.status_code == 200, r.text
    views.append(("event", r.json()))
    r = kit.request("GET", f"{V3}/rooms/{room_id}/messages?dir=b&limit=10", user.access_token)
    views.append(("messages", find(r.json()["chunk"])))
    r = kit.request("GET", f"{V3}/rooms/{room_id}/context/{quote(redaction_id)}",
                    user.access_token)
    views.append(("context", r.json()["event"]))
    sync_filter = json.dumps({"room": {"timeline": {"limit": 10}}})
    r = kit.request("GET", f"{V3}/sync", user.access_token, params={"filter": sync_filter})
    views.append(("sync", find(r.json()["rooms"]["join"][room_id]["timeline"]["events"])))
    return views


@pytest.mark.parametrize("room_version", ["10", "11", "12"])
def test_redacts_served_at_top_level_and_in_content(kit: Kit, room_version: str) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice, room_version=room_version)
    target = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "oops"})
    r = kit.request("PUT", f"{V3}/rooms/{room_id}/redact/{quote(target)}/t1",
                    alice.access_token, json={"reason": "typo"})
    assert r.status_code == 200, r.text
    redaction_id = r.json()["event_id"]
    for where, event in _redaction_views(kit, alice, room_id, redaction_id):
        assert event["type"] == "m.room.redaction", where
        assert event["redacts"] == target, where
        assert event["content"]["redacts"] == target, where
        assert event["content"]["reason"] == "typo", where
