"""A received event whose prev_events are unknown: the receiver asks the origin for the
missing events (``get_missing_events``), checks them and writes them before the event,
so its timeline has no hole; when the origin cannot fill the gap, the event is still
accepted (a new forward extremity)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest

from glia.protocol.events import build_event, compute_event_id
from glia.protocol.room_versions import get_room_version
from glia.protocol.signing import sign_event
from tests.api.federation_rooms_kit import (
    RoomPair,
    bodies,
    join_on_a,
    messages,
    send_as_b,
    start_pair,
    state_ids,
    wait_federating,
)
from tests.federation import signed_request
from tests.kit import create_room, send_event, unique, wait_until


@pytest.fixture(scope="module")
def gap_pair(new_database_url: Callable[[], str]) -> Iterator[RoomPair]:
    yield from start_pair(new_database_url)



def test_a_gap_the_origin_cannot_fill_leaves_a_forward_extremity(
        gap_pair: RoomPair) -> None:
    p = gap_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    state = state_ids(p.kit_a, alice, room_id)
    version = get_room_version("12")
    assert version is not None
    # An event after one nobody has (B's get_missing_events finds nothing to give).
    unknown_prev = "$" + "A" * 43
    pdu = build_event(version, room_id=room_id, sender=bob.user_id,
                      event_type="m.room.message",
                      content={"msgtype": "m.text", "body": "after a hole"},
                      prev_events=[unknown_prev],
                      auth_events=sorted([state[("m.room.power_levels", "")],
                                          state[("m.room.member", bob.user_id)]]),
                      depth=50, origin_server_ts=p.kit_a.server_now(),
                      server_name=p.b.name)
    pdu = sign_event(pdu, version, p.b.name, p.b.signing_key())
    event_id = compute_event_id(pdu, version)
    assert send_as_b(p, [pdu]) == {event_id: {}}
    assert "after a hole" in bodies(p.kit_a, alice, room_id)
    send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "answer"})
    wait_until(lambda: "answer" in bodies(p.kit_b, bob, room_id), what="A → B after it")


def test_missing_events_are_fetched_from_the_origin(gap_pair: RoomPair) -> None:
    # Runs last in the module: it stops and restarts A.
    p = gap_pair
    admin_b = p.kit_b.make_admin()
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    last_known = messages(p.kit_a, alice, room_id)[-1]["event_id"]

    # A is down while bob writes: B keeps his events queued for A and backs off.
    p.a.process.stop()
    send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": "gap 1"})
    # A new membership of bob's: both a missing prev_event and an auth event of "gap 2".
    r = p.kit_b.request("PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                        f"m.room.member/{quote(bob.user_id)}", bob.access_token,
                        json={"membership": "join", "displayname": "Bobby"})
    assert r.status_code == 200, r.text
    renamed = r.json()["event_id"]
    second = send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": "gap 2"})
    r = signed_request(p.a.name, p.a.signing_key(), p.b, "GET",
                       f"/_matrix/federation/v1/event/{quote(second)}")
    assert r.status_code == 200, r.text
    pdu = r.json()["pdus"][0]

    def b_backs_off() -> bool:
        q = p.kit_b.request("GET", f"/_glia/admin/v1/federation/queue/{quote(p.a.name)}",
                            admin_b.access_token).json()
        return bool(q["retry_interval"]) and q["queue_length"] == 3
    wait_until(b_backs_off, what="B backing off from A with its three events queued")

    # An event whose prev_event A has, but not one of its auth events (bob's rename):
    # A fetches that one from B (/event), checks it and keeps it as an outlier to
    # authorise the event with. It comes first in the transaction, before anything told
    # B that A is back, so the rename can only have come that way.
    state = state_ids(p.kit_b, bob, room_id)
    version = get_room_version("12")
    assert version is not None
    aside = build_event(version, room_id=room_id, sender=bob.user_id,
                        event_type="m.room.message",
                        content={"msgtype": "m.text", "body": "aside"},
                        prev_events=[last_known],
                        auth_events=sorted([state[("m.room.power_levels", "")], renamed]),
                        depth=60, origin_server_ts=p.kit_b.server_now(),
                        server_name=p.b.name)
    aside = sign_event(aside, version, p.b.name, p.b.signing_key())
    aside_id = compute_event_id(aside, version)

    # A is back and receives only those two (B's queue waits out its back-off).
    p.a.process.start()
    wait_federating(p.a)
    assert send_as_b(p, [aside, pdu]) == {aside_id: {}, second: {}}
    # The gaps are filled before the transaction is answered, so no waiting here:
    # "gap 1" came from B's get_missing_events, and the timeline has it before "gap 2".
    seen = bodies(p.kit_a, alice, room_id)
    assert "aside" in seen and "gap 1" in seen and "gap 2" in seen, seen
    assert seen.index("gap 1") < seen.index("gap 2")
    r = p.kit_a.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                        f"m.room.member/{quote(bob.user_id)}", alice.access_token)
    assert r.json().get("displayname") == "Bobby", r.text
