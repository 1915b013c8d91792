"""End-to-end encryption across two Glia servers with a real client library: a
matrix-nio client on each server (Olm and Megolm through vodozemac), in an encrypted
room of the first server. Each client fetches the other's device keys through its own
server (which asks the other over federation), claims one of its one-time keys there,
shares its Megolm session over to-device messages that cross servers, and sends a
message the other decrypts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from nio import (
    AsyncClient,
    MegolmEvent,
    RoomCreateResponse,
    RoomInviteResponse,
    RoomMessageText,
    RoomSendResponse,
)

from tests.api.federation_rooms_kit import RoomPair
from tests.api.federation_rooms_kit import rooms_pair as rooms_pair
from tests.api.nio_e2ee_kit import MEGOLM, encrypting_client, needs_e2e, sync_with_keys
from tests.kit import unique

pytestmark = needs_e2e

#: How long a client keeps syncing for something on its way from the other server.
WAIT_SECONDS = 60


async def _sync_until(client: AsyncClient, done: Callable[[], bool], what: str) -> None:
    """Sync (each sync long-polls) until ``done()``: for what crosses servers."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await sync_with_keys(client, 1000)


async def test_encrypted_messages_between_servers(rooms_pair: RoomPair,
                                                   tmp_path: Path) -> None:
    p = rooms_pair
    a_user = p.kit_a.register_user(unique("alice"))
    b_user = p.kit_b.register_user(unique("bob"))
    alice = await encrypting_client(p.a.process.url, a_user.user_id, tmp_path / "alice",
                                    "nio federated e2e")
    bob = await encrypting_client(p.b.process.url, b_user.user_id, tmp_path / "bob",
                                  "nio federated e2e")
    try:
        created = await alice.room_create(
            name="secret room",
            initial_state=[{"type": "m.room.encryption", "state_key": "",
                            "content": MEGOLM}])
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id
        invited = await alice.room_invite(room_id, b_user.user_id)
        assert isinstance(invited, RoomInviteResponse), invited
        await _sync_until(bob, lambda: room_id in bob.invited_rooms, "bob's invite")
        joined = await bob.join(room_id)
        assert getattr(joined, "room_id", None) == room_id, joined
        await _sync_until(bob, lambda: room_id in bob.rooms and bob.rooms[room_id].encrypted,
                          "the encrypted room on B")
        # Alice learns of Bob's device through A, which asked B.
        await _sync_until(alice, lambda: b_user.user_id in alice.device_store.users
                          and bob.device_id in alice.device_store[b_user.user_id],
                          "bob's device in alice's device store")

        bob_got: list[RoomMessageText] = []
        undecrypted: list[MegolmEvent] = []

        async def on_text(room: object, event: RoomMessageText) -> None:
            bob_got.append(event)

        async def on_megolm(room: object, event: MegolmEvent) -> None:
            undecrypted.append(event)

        bob.add_event_callback(on_text, RoomMessageText)  # type: ignore[arg-type]
        bob.add_event_callback(on_megolm, MegolmEvent)  # type: ignore[arg-type]

        # Sending claims one of Bob's one-time keys (from B, through A), shares the Megolm
        # session with his device over /sendToDevice (crossing to B), then sends.
        sent = await alice.room_send(room_id, "m.room.message",
                                     {"msgtype": "m.text", "body": "for bob only"},
                                     ignore_unverified_devices=True)
        assert isinstance(sent, RoomSendResponse), sent
        await _sync_until(bob, lambda: any(e.body == "for bob only" for e in bob_got),
                          "bob decrypting alice's message")
        mine = [e for e in bob_got if e.body == "for bob only"]
        assert mine[0].decrypted and mine[0].sender == a_user.user_id, undecrypted

        # And Bob answers: his server asks A for Alice's keys and claims one of hers.
        alice_got: list[RoomMessageText] = []

        async def on_reply(room: object, event: RoomMessageText) -> None:
            alice_got.append(event)

        alice.add_event_callback(on_reply, RoomMessageText)  # type: ignore[arg-type]
        await _sync_until(bob, lambda: a_user.user_id in bob.device_store.users
                          and alice.device_id in bob.device_store[a_user.user_id],
                          "alice's device in bob's device store")
        reply = await bob.room_send(room_id, "m.room.message",
                                    {"msgtype": "m.text", "body": "got it"},
                                    ignore_unverified_devices=True)
        assert isinstance(reply, RoomSendResponse), reply
        await _sync_until(alice, lambda: any(e.body == "got it" for e in alice_got),
                          "alice decrypting bob's answer")
        answer = [e for e in alice_got if e.body == "got it"]
        assert answer[0].decrypted and answer[0].sender == b_user.user_id
    finally:
        await alice.close()
        await bob.close()
