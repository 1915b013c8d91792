"""The outbound queue survives a destination being down: B stops, A's events wait in
A's persisted queue (visible in the admin APIs with B's back-off and last error), B
starts again and, once it talks to A, A resets B's back-off and sends what it missed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.federation_rooms_kit import (
    RoomPair,
    bodies,
    join_on_a,
    start_pair,
    wait_federating,
)
from tests.kit import User, create_room, send_event, unique, wait_until


@pytest.fixture(scope="module")
def queue_pair(new_database_url: Callable[[], str]) -> Iterator[RoomPair]:
    yield from start_pair(new_database_url)


def _queue(p: RoomPair, admin: User) -> dict[str, Any]:
    r = p.kit_a.request("GET", f"/_glia/admin/v1/federation/queue/{quote(p.b.name)}",
                        admin.access_token)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_down_destination_gets_its_queue_when_back(queue_pair: RoomPair) -> None:
    p = queue_pair
    admin = p.kit_a.make_admin()
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "while up"})
    wait_until(lambda: "while up" in bodies(p.kit_b, bob, room_id), what="first message")
    # B shows the event before A has its answer and drops the row: wait for that too.
    wait_until(lambda: _queue(p, admin)["queue_length"] == 0, what="A's queue emptied")

    p.b.process.stop()
    # A presence update (an in-memory EDU) fails with the first transaction; A keeps it.
    status = unique("away")
    r = p.kit_a.request("PUT", f"/_matrix/client/v3/presence/{quote(alice.user_id)}/status",
                        alice.access_token, json={"presence": "online", "status_msg": status})
    assert r.status_code == 200, r.text
    send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "while down 1"})
    send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "while down 2"})
    down = wait_until(lambda: (q := _queue(p, admin))["retry_interval"] and q,
                      what="A backing off from B")
    assert down["queue_length"] == 2
    assert down["last_error"]
    synapse_view = p.kit_a.request(
        "GET", f"/_synapse/admin/v1/federation/destinations/{quote(p.b.name)}/rooms",
        admin.access_token).json()
    assert [r["room_id"] for r in synapse_view["rooms"]] == [room_id]

    p.b.process.start()
    wait_federating(p.b)
    # B speaks to A (bob's message); A takes it that B is back and sends the queue.
    send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": "back"})
    wait_until(lambda: "while down 2" in bodies(p.kit_b, bob, room_id),
               what="the queued events on B")
    seen = bodies(p.kit_b, bob, room_id)
    assert seen.index("while down 1") < seen.index("while down 2")
    wait_until(lambda: "back" in bodies(p.kit_a, alice, room_id), what="B's message on A")
    after = wait_until(lambda: (q := _queue(p, admin))["queue_length"] == 0 and q,
                       what="A's queue for B emptied")
    assert not after["retry_interval"]
    assert after["last_error"] is None
    wait_until(lambda: _status_msg(p, bob, alice.user_id) == status,
               what="alice's presence from while B was down, on B")


def _status_msg(p: RoomPair, reader: User, user_id: str) -> Any:
    r = p.kit_b.request("GET", f"/_matrix/client/v3/presence/{quote(user_id)}/status",
                        reader.access_token)
    return r.json().get("status_msg") if r.status_code == 200 else None
