"""To-device messages and device-list updates for a server that is down are not lost:
they wait in the sender's persistent EDU queue (across a restart of the sender too) and
reach the destination once it is back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.federation_rooms_kit import RoomPair, join_on_a, start_pair, wait_federating
from tests.api.test_federation_e2ee import changed, send_to_device, to_device
from tests.api.test_keys import setup_device, stream_token
from tests.kit import User, create_room, send_event, unique, wait_until


@pytest.fixture(scope="module")
def queue_pair(new_database_url: Callable[[], str]) -> Iterator[RoomPair]:
    yield from start_pair(new_database_url)


def test_edus_wait_for_a_server_that_is_down(queue_pair: RoomPair) -> None:
    p = queue_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    since_bob = stream_token(p.kit_b, bob)

    admin = p.kit_a.make_admin(unique("admin"))
    p.b.process.stop()
    send_to_device(p.kit_a, alice, {bob.user_id: {bob.device_id: {"while": "down"}}})
    setup_device(p.kit_a, alice)  # a device-list update for B too
    # Both wait (the to-device message and one update per device of alice's).
    wait_until(lambda: _queue(p, admin)["edu_queue_length"] == 2,
               what="the EDUs queued for B")
    # A restarts with both still queued: they are in its database, not its memory.
    p.a.process.stop()
    p.a.process.start()
    wait_federating(p.a)
    p.b.process.start()
    wait_federating(p.b)
    # B speaks to A (bob's message): A takes it that B is back and sends its queue.
    send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": "back"})
    got = wait_until(lambda: to_device(p.kit_b, bob, since_bob),
                     what="the queued to-device message on B")
    assert got == [{"sender": alice.user_id, "type": "m.test.ping",
                    "content": {"while": "down"}}]
    wait_until(lambda: alice.user_id in changed(p.kit_b, bob, since_bob),
               what="the queued device-list update on B")
    wait_until(lambda: _queue(p, admin)["edu_queue_length"] == 0,
               what="A's EDU queue for B emptied")


def _queue(p: RoomPair, admin: User) -> dict[str, Any]:
    r = p.kit_a.request("GET", f"/_glia/admin/v1/federation/queue/{quote(p.b.name)}",
                        admin.access_token)
    assert r.status_code == 200, r.text
    return dict(r.json())
