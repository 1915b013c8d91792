"""Presence across two Glia servers (``m.presence`` EDUs): a user's presence reaches the
users of the other server who share a room with them, in ``/sync`` and
``GET /presence/{userId}/status``, both ways; an entry a server sends about a user not
its own is ignored; presence set before two users shared a room arrives with the join;
another server's user whose server falls silent goes offline after
the federation timeout, not after the local sync timeout."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.api.federation_rooms_kit import RoomPair, join_on_a
from tests.api.federation_rooms_kit import rooms_pair as rooms_pair
from tests.federation import signed_request
from tests.kit import Kit, User, create_room, unique, wait_until


def _set(kit: Kit, user: User, presence: str, status_msg: str) -> None:
    r = kit.request("PUT", f"/_matrix/client/v3/presence/{quote(user.user_id)}/status",
                    user.access_token, json={"presence": presence, "status_msg": status_msg})
    assert r.status_code == 200, r.text


def _status(kit: Kit, reader: User, user_id: str) -> dict[str, Any]:
    r = kit.request("GET", f"/_matrix/client/v3/presence/{quote(user_id)}/status",
                    reader.access_token)
    return dict(r.json()) if r.status_code == 200 else {}


def _synced_presence(kit: Kit, reader: User, user_id: str) -> dict[str, Any] | None:
    r = kit.request("GET", "/_matrix/client/v3/sync?timeout=0", reader.access_token)
    assert r.status_code == 200, r.text
    found = [e["content"] for e in r.json().get("presence", {}).get("events", [])
             if e["sender"] == user_id]
    return found[-1] if found else None


def _shared_room(p: RoomPair) -> tuple[User, User]:
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    return alice, bob


def test_presence_both_ways(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice, bob = _shared_room(p)

    _set(p.kit_a, alice, "online", "at A")
    wait_until(lambda: _status(p.kit_b, bob, alice.user_id).get("status_msg") == "at A",
               what="alice's presence on B")
    seen = _status(p.kit_b, bob, alice.user_id)
    assert seen["presence"] == "online" and seen["currently_active"] is True
    synced = _synced_presence(p.kit_b, bob, alice.user_id)
    assert synced is not None and synced["status_msg"] == "at A"

    _set(p.kit_b, bob, "unavailable", "at B")
    wait_until(lambda: _status(p.kit_a, alice, bob.user_id).get("status_msg") == "at B",
               what="bob's presence on A")
    assert _status(p.kit_a, alice, bob.user_id)["presence"] == "unavailable"
    synced = _synced_presence(p.kit_a, alice, bob.user_id)
    assert synced is not None and synced["presence"] == "unavailable"

    # B claims alice (a user of A) went offline: A ignores it; B's real news arrives.
    txn = {"origin": p.b.name, "origin_server_ts": 0, "pdus": [], "edus": [
        {"edu_type": "m.presence", "content": {"push": [
            {"user_id": alice.user_id, "presence": "offline", "status_msg": "forged",
             "last_active_ago": 0},
            {"user_id": bob.user_id, "presence": "online", "status_msg": "back",
             "last_active_ago": 10, "currently_active": True},
            "not an entry", {"user_id": bob.user_id, "presence": "dancing"}]}}]}
    r = signed_request(p.b.name, p.b.signing_key(), p.a, "PUT",
                       f"/_matrix/federation/v1/send/{unique('txn')}", txn)
    assert r.status_code == 200, r.text
    assert _status(p.kit_a, alice, bob.user_id)["status_msg"] == "back"
    assert _status(p.kit_a, alice, bob.user_id)["presence"] == "online"
    assert _status(p.kit_a, alice, alice.user_id)["status_msg"] == "at A"


def test_presence_from_before_sharing_a_room_arrives_with_the_join(
        rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    _set(p.kit_a, alice, "unavailable", "set before")
    _set(p.kit_b, bob, "online", "also before")
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    wait_until(lambda: _status(p.kit_b, bob, alice.user_id).get("status_msg")
               == "set before", what="alice's earlier presence on B")
    wait_until(lambda: _status(p.kit_a, alice, bob.user_id).get("status_msg")
               == "also before", what="bob's earlier presence on A")


def test_remote_user_goes_offline_after_the_federation_timeout(
        rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice, bob = _shared_room(p)
    _set(p.kit_a, alice, "online", "here")
    _set(p.kit_b, bob, "online", "here too")
    wait_until(lambda: _status(p.kit_b, bob, alice.user_id).get("presence") == "online",
               what="alice's presence on B")
    # A minute later bob (B's own user, not syncing) is offline, alice (A's) is not:
    # her server's silence is judged by the federation timeout.
    p.kit_b.advance_clock(60_000)
    wait_until(lambda: _status(p.kit_b, bob, bob.user_id).get("presence") == "offline",
               what="bob offline on B")
    assert _status(p.kit_b, bob, alice.user_id)["presence"] == "online"
    p.kit_b.advance_clock(30 * 60_000)
    wait_until(lambda: _status(p.kit_b, bob, alice.user_id).get("presence") == "offline",
               what="alice offline on B after the federation timeout")
