"""Two Glia servers share rooms: a user on B joins A's room (by ID with ``via``, by
alias), and messages, an edit and a redaction flow both ways in order, seen in each
side's ``/messages`` and ``/sync``."""

from __future__ import annotations

from urllib.parse import quote

from tests.api.federation_rooms_kit import RoomPair, bodies, join, membership, messages
from tests.api.federation_rooms_kit import rooms_pair as rooms_pair  # noqa: F401 - fixture
from tests.kit import create_room, send_event, unique, wait_until


def test_join_by_id_with_via_and_messages_both_ways(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat", name="Federated")
    send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "before bob"})

    r = join(p.kit_b, bob, room_id, via=[p.a.name])
    assert r.status_code == 200, r.text
    assert r.json()["room_id"] == room_id
    # B has the room's state (not its history: that would take backfill); A sees bob.
    assert membership(p.kit_b, bob, room_id, alice.user_id) == "join"
    wait_until(lambda: membership(p.kit_a, alice, room_id, bob.user_id) == "join",
               what="bob's join on A")
    name = p.kit_b.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                           "m.room.name/", bob.access_token)
    assert name.json() == {"name": "Federated"}

    send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": "hi from B"})
    wait_until(lambda: "hi from B" in bodies(p.kit_a, alice, room_id), what="B → A")
    send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "hi from A"})
    wait_until(lambda: "hi from A" in bodies(p.kit_b, bob, room_id), what="A → B")
    for kit, user in ((p.kit_a, alice), (p.kit_b, bob)):
        seen = bodies(kit, user, room_id)
        assert seen.index("hi from B") < seen.index("hi from A")
