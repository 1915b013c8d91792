"""``/context`` for a user who left: the state it returns is the room's state at the
last event the caller may see, never the state as it became after their leave (a name
set after the leave leaked through the state of events the caller was not shown)."""

from __future__ import annotations

from urllib.parse import quote

from tests.kit import Kit, create_room, send_event

C = "/_matrix/client/v3"


def test_context_state_stops_at_what_a_departed_user_may_see(kit: Kit) -> None:
    owner, leaver = kit.register_user(), kit.register_user()
    room_id = create_room(kit, owner, preset="public_chat", name="before")
    room = f"{C}/rooms/{quote(room_id)}"
    assert kit.request("POST", f"{room}/join", leaver.access_token, json={}).status_code == 200
    seen = send_event(kit, owner, quote(room_id))
    assert kit.request("POST", f"{room}/leave", leaver.access_token, json={}).status_code == 200
    r = kit.request("PUT", f"{room}/state/m.room.name/", owner.access_token,
                    json={"name": "after the leave"})
    assert r.status_code == 200, r.text
    send_event(kit, owner, quote(room_id), {"msgtype": "m.text", "body": "not for you"})

    r = kit.request("GET", f"{room}/context/{quote(seen)}?limit=10", leaver.access_token)
    assert r.status_code == 200, r.text
    body = r.json()
    names = [e["content"].get("name") for e in body["state"] if e["type"] == "m.room.name"]
    assert names == ["before"], names
    shown = [e["event_id"] for e in body["events_after"]]
    assert all(e.get("content", {}).get("body") != "not for you"
               for e in body["events_after"]), shown
    # The owner, still in the room, sees the state at the newest event.
    r = kit.request("GET", f"{room}/context/{quote(seen)}?limit=10", owner.access_token)
    names = [e["content"].get("name") for e in r.json()["state"] if e["type"] == "m.room.name"]
    assert names == ["after the leave"], names
