"""History over federation with a real Synapse, both ways: a user of the server that
joined late pages ``/messages`` back past the join and gets the messages sent before it,
in order and once each — Glia backfilling from Synapse, and Synapse backfilling from
Glia. Uses the one Glia + Synapse pair of the run (tests/fed_synapse.py)."""

from __future__ import annotations

import pytest

from tests.api.federation_rooms_kit import join, membership
from tests.api.test_federation_backfill import page_all, texts
from tests.fed_synapse import Peers, ok
from tests.kit import create_room, send_event, unique, wait_until


@pytest.fixture(scope="module")
def peers(synapse_peers: Peers) -> Peers:
    return synapse_peers


@pytest.mark.parametrize("room_version", ["10", "12"])
@pytest.mark.parametrize("glia_owns", [True, False], ids=["glia-room", "synapse-room"])
def test_a_late_joiner_pages_back_into_the_history_before_its_join(
        peers: Peers, room_version: str, glia_owns: bool) -> None:
    kit_own, kit_late = (peers.kit_g, peers.kit_s) if glia_owns else \
        (peers.kit_s, peers.kit_g)
    late_server = peers.synapse.name if glia_owns else peers.glia.name
    own_server = peers.glia.name if glia_owns else peers.synapse.name
    owner = kit_own.register_user(unique("owner"))
    late = kit_late.register_user(unique("late"))
    room_id = create_room(kit_own, owner, preset="public_chat", room_version=room_version)
    history = [f"history {i}" for i in range(30)]
    for body in history:
        send_event(kit_own, owner, room_id, {"msgtype": "m.text", "body": body})
    ok(join(kit_late, late, room_id, via=[own_server]))
    wait_until(lambda: membership(kit_own, owner, room_id, late.user_id) == "join",
               what=f"the join from {late_server}")

    events = page_all(kit_late, late, room_id, 10)
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids)), "an event came twice"
    assert texts(events, "history ") == history
