"""Three Glia servers share a room: the resident server passes on the memberships it
accepted through ``send_join`` / ``send_leave`` to the room's other servers, and
messages flow between the two joined servers through their own senders."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from glia.protocol.events import add_hashes, compute_event_id
from glia.protocol.room_versions import get_room_version
from glia.protocol.signing import sign_event
from tests.api.federation_rooms_kit import RoomTrio, bodies, join, join_on_a, membership
from tests.api.federation_rooms_kit import rooms_trio as rooms_trio
from tests.federation import FederatingServer, signed_request
from tests.kit import create_room, send_event, unique, wait_until


def _membership_via(resident: FederatingServer, origin: FederatingServer, room_id: str,
                    user_id: str, membership_: str) -> str:
    """``make_*`` / ``send_*`` on ``resident`` as ``origin`` would do them (signed with
    its key), without ``origin``'s Glia knowing: so only the resident can pass the event
    on."""
    make = f"/_matrix/federation/v1/make_{membership_}/{quote(room_id)}/{quote(user_id)}"
    r = signed_request(origin.name, origin.signing_key(), resident, "GET",
                       make + ("?ver=12" if membership_ == "join" else ""))
    assert r.status_code == 200, r.text
    version = get_room_version(r.json()["room_version"])
    assert version is not None
    template: dict[str, Any] = r.json()["event"]
    pdu = sign_event(add_hashes(template), version, origin.name, origin.signing_key())
    event_id = compute_event_id(pdu, version)
    r = signed_request(origin.name, origin.signing_key(), resident, "PUT",
                       f"/_matrix/federation/v2/send_{membership_}/{quote(room_id)}/"
                       f"{quote(event_id)}", pdu)
    assert r.status_code == 200, r.text
    return event_id


def test_resident_passes_on_joins_and_leaves_and_three_servers_talk(
        rooms_trio: RoomTrio) -> None:
    p = rooms_trio
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    carol = p.kit_c.register_user(unique("carol"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    assert join(p.kit_c, carol, room_id, via=[p.a.name]).status_code == 200
    wait_until(lambda: membership(p.kit_b, bob, room_id, carol.user_id) == "join",
               what="carol's join on B")

    send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": "B to all"})
    wait_until(lambda: "B to all" in bodies(p.kit_c, carol, room_id), what="B → C")
    send_event(p.kit_c, carol, room_id, {"msgtype": "m.text", "body": "C to all"})
    wait_until(lambda: "C to all" in bodies(p.kit_b, bob, room_id), what="C → B")
    wait_until(lambda: {"B to all", "C to all"} <= set(bodies(p.kit_a, alice, room_id)),
               what="both on A")

    # A join that only the resident server A can pass on: C's Glia never hears of it.
    dave = f"@{unique('dave')}:{p.c.name}"
    join_id = _membership_via(p.a, p.c, room_id, dave, "join")
    wait_until(lambda: membership(p.kit_b, bob, room_id, dave) == "join",
               what="dave's join passed on by A to B")
    leave_id = _membership_via(p.a, p.c, room_id, dave, "leave")
    wait_until(lambda: membership(p.kit_b, bob, room_id, dave) == "leave",
               what="dave's leave passed on by A to B")
    for event_id in (join_id, leave_id):
        r = p.kit_b.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/event/"
                            f"{quote(event_id)}", bob.access_token)
        assert r.status_code == 200, r.text
    # The origin is not sent its own user's events back (it would refuse them).
    assert membership(p.kit_c, carol, room_id, dave) is None
