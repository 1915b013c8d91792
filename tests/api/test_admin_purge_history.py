"""purge_history up to a time removes every message older than it (Synapse's cut is the
room's first event at or after the time), keeps the state the room needs to go on, and
reports how many events went."""

from __future__ import annotations

import time
from urllib.parse import quote

from tests.kit import Kit, assert_error, create_room, send_event, wait_for_job, wait_until

S = "/_synapse/admin"
C = "/_matrix/client/v3"


def _ts(kit: Kit, token: str, event_id: str) -> int:
    r = kit.request("GET", f"{S}/v1/fetch_event/{quote(event_id)}", token)
    return int(r.json()["event"]["origin_server_ts"])


def _after(ts: int) -> None:
    """Event timestamps come from the system clock (not the test clock): let it pass
    ``ts`` so the next event is strictly newer."""
    wait_until(lambda: time.time() * 1000 > ts + 1, what="the next millisecond")


def _bodies(kit: Kit, token: str, room: str) -> list[str]:
    r = kit.request("GET", f"{S}/v1/rooms/{room}/messages?dir=f&limit=100", token)
    assert r.status_code == 200, r.text
    return [e["content"]["body"] for e in r.json()["chunk"] if e["type"] == "m.room.message"]


def test_purge_up_to_ts_removes_every_older_message(kit: Kit) -> None:
    admin, owner, guest = kit.make_admin(), kit.register_user(), kit.register_user()
    room = create_room(kit, owner, preset="public_chat", name="kept name")
    for body in ("old0", "old1", "old2"):
        last_old = send_event(kit, owner, room, {"msgtype": "m.text", "body": body})
    _after(_ts(kit, admin.access_token, last_old))
    first_new = send_event(kit, owner, room, {"msgtype": "m.text", "body": "new0"})
    send_event(kit, owner, room, {"msgtype": "m.text", "body": "new1"})
    # Strictly between the last old message and the first new one.
    cutoff = _ts(kit, admin.access_token, first_new) - 1

    r = kit.request("POST", f"{S}/v1/purge_history/{room}", admin.access_token,
                    json={"purge_up_to_ts": cutoff, "delete_local_events": True})
    assert r.status_code == 200, r.text
    job = wait_for_job(kit, admin, r.json()["purge_id"])
    assert job["status"] == "complete" and job["result"] == {"deleted_events": 3}
    assert _bodies(kit, admin.access_token, room) == ["new0", "new1"]

    # The state survives: the room keeps its name, and someone can still join and talk.
    r = kit.request("GET", f"{C}/rooms/{room}/state/m.room.name", owner.access_token)
    assert r.json() == {"name": "kept name"}
    assert kit.request("POST", f"{C}/join/{room}", guest.access_token,
                       json={}).status_code == 200
    send_event(kit, guest, room, {"msgtype": "m.text", "body": "after"})
    assert _bodies(kit, admin.access_token, room) == ["new0", "new1", "after"]

    # Nothing older than a time before the room → 404, as Synapse.
    assert_error(kit.request("POST", f"{S}/v1/purge_history/{room}", admin.access_token,
                             json={"purge_up_to_ts": 1}), 404, "M_NOT_FOUND")


def test_purge_up_to_ts_after_everything_keeps_the_newest(kit: Kit) -> None:
    admin, owner = kit.make_admin(), kit.register_user()
    room = create_room(kit, owner)
    for body in ("a", "b", "c"):
        last = send_event(kit, owner, room, {"msgtype": "m.text", "body": body})
    cutoff = _ts(kit, admin.access_token, last) + 1
    r = kit.request("POST", f"{S}/v1/purge_history/{room}", admin.access_token,
                    json={"purge_up_to_ts": cutoff, "delete_local_events": True})
    job = wait_for_job(kit, admin, r.json()["purge_id"])
    assert job["result"] == {"deleted_events": 2}
    # The newest event is the room's forward extremity: it stays, as in Synapse.
    assert _bodies(kit, admin.access_token, room) == ["c"]
    send_event(kit, owner, room, {"msgtype": "m.text", "body": "d"})
    assert _bodies(kit, admin.access_token, room) == ["c", "d"]
