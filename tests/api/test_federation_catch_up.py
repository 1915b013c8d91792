"""Catching up after downtime: a server that was stopped mid-conversation and receives
an event naming prev events far back keeps asking the origin (``get_missing_events``
from the oldest events fetched so far) until the gap is closed, and writes everything
before the event, in order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest

from tests.api.federation_rooms_kit import (
    RoomPair,
    join_on_a,
    send_as_b,
    start_pair,
    wait_federating,
)
from tests.api.test_federation_backfill import page_all, texts
from tests.federation import signed_request
from tests.kit import create_room, send_event, unique, wait_until


@pytest.fixture(scope="module")
def catch_up_pair(new_database_url: Callable[[], str]) -> Iterator[RoomPair]:
    yield from start_pair(new_database_url)



def test_a_server_stopped_mid_conversation_catches_up_on_every_event(
        catch_up_pair: RoomPair) -> None:
    p = catch_up_pair
    admin_b = p.kit_b.make_admin()
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": "before 1"})
    wait_until(lambda: texts(page_all(p.kit_a, alice, room_id, 100), "before ")
               == ["before 1"], what="bob's first message on A")

    r = p.kit_a.request("GET", "/_matrix/client/v3/sync?timeout=0", alice.access_token)
    assert r.status_code == 200, r.text
    since = r.json()["next_batch"]

    # A is down while bob goes on talking: B queues his events for A and backs off.
    p.a.process.stop()
    sent = [f"while down {i}" for i in range(65)]
    last = ""
    for body in sent:
        last = send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": body})
    r = signed_request(p.a.name, p.a.signing_key(), p.b, "GET",
                       f"/_matrix/federation/v1/event/{quote(last)}")
    assert r.status_code == 200, r.text
    pdu = r.json()["pdus"][0]

    def b_backs_off() -> bool:
        q = p.kit_b.request("GET", f"/_glia/admin/v1/federation/queue/{quote(p.a.name)}",
                            admin_b.access_token).json()
        return bool(q["retry_interval"]) and q["queue_length"] == len(sent)
    wait_until(b_backs_off, what="B backing off from A with bob's events queued")

    # A is back and gets only the last event: 64 events before it are missing, far more
    # than one get_missing_events answer. They are fetched before the transaction is
    # answered, so no waiting here.
    p.a.process.start()
    wait_federating(p.a)
    assert send_as_b(p, [pdu]) == {last: {}}
    # Caught up events are news for A's users: all of them in the next /sync, in order
    # (not left to /messages to backfill, which /sync never shows).
    timeline_filter = quote('{"room": {"timeline": {"limit": 100}}}')
    r = p.kit_a.request("GET", f"/_matrix/client/v3/sync?timeout=0&since={since}"
                        f"&filter={timeline_filter}", alice.access_token)
    assert r.status_code == 200, r.text
    timeline = r.json()["rooms"]["join"][room_id]["timeline"]["events"]
    assert texts(timeline, "while down ") == sent
    events = page_all(p.kit_a, alice, room_id, 100)
    assert texts(events, "while down ") == sent
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))
    # And A's timeline is B's, event for event.
    assert ids == [e["event_id"] for e in page_all(p.kit_b, bob, room_id, 100)]
