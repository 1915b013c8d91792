"""End-to-end encryption with a real client library: two matrix-nio clients (Olm and Megolm
through vodozemac) upload device and one-time keys, query and claim each other's keys,
share a Megolm session over to-device messages and exchange an encrypted message that only
the receiving device can read. Skipped where ``/sync`` is not served yet or matrix-nio was
installed without its ``e2e`` extra."""

from __future__ import annotations

from pathlib import Path

import pytest
from nio import (
    AsyncClient,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from tests.api.nio_e2ee_kit import MEGOLM, encrypting_client, needs_e2e, sync_with_keys
from tests.kit import Kit
from tests.server import GliaProcess

pytestmark = needs_e2e


async def _client(glia: GliaProcess, user_id: str, store: Path) -> AsyncClient:
    return await encrypting_client(glia.url, user_id, store, "nio e2e")


async def _sync(client: AsyncClient) -> SyncResponse:
    return await sync_with_keys(client, 3000)


async def test_encrypted_message_between_nio_clients(glia: GliaProcess, kit: Kit,
                                                     tmp_path: Path) -> None:
    if kit.request("GET", "/_matrix/client/v3/sync").status_code == 404:
        pytest.skip("/sync is not served yet")
    a_user, b_user = kit.register_user(), kit.register_user()
    alice = await _client(glia, a_user.user_id, tmp_path / "alice")
    bob = await _client(glia, b_user.user_id, tmp_path / "bob")
    try:
        created = await alice.room_create(
            name="secret room", invite=[b_user.user_id],
            initial_state=[{"type": "m.room.encryption", "state_key": "",
                            "content": MEGOLM}])
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id
        await _sync(bob)
        assert room_id in bob.invited_rooms
        await bob.join(room_id)
        await _sync(bob)
        await _sync(alice)
        assert alice.rooms[room_id].encrypted
        # Alice knows Bob's device from /keys/query (tracked through device lists).
        assert b_user.user_id in alice.device_store.users
        assert bob.device_id in alice.device_store[b_user.user_id]

        received: list[RoomMessageText] = []
        undecrypted: list[MegolmEvent] = []

        async def on_text(room: object, event: RoomMessageText) -> None:
            received.append(event)

        async def on_megolm(room: object, event: MegolmEvent) -> None:
            undecrypted.append(event)

        bob.add_event_callback(on_text, RoomMessageText)  # type: ignore[arg-type]
        bob.add_event_callback(on_megolm, MegolmEvent)  # type: ignore[arg-type]

        # Sending claims one of Bob's one-time keys, shares the Megolm session with his
        # device over /sendToDevice, then sends the encrypted event.
        sent = await alice.room_send(room_id, "m.room.message",
                                     {"msgtype": "m.text", "body": "for bob only"},
                                     ignore_unverified_devices=True)
        assert isinstance(sent, RoomSendResponse), sent
        raw = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/event/{sent.event_id}",
                          b_user.access_token).json()
        assert raw["type"] == "m.room.encrypted"
        assert "for bob only" not in str(raw)

        # Each sync long-polls (up to 3 s) for what is still on its way.
        for _ in range(5):
            await _sync(bob)
            if received:
                break
        assert [e.body for e in received] == ["for bob only"], undecrypted
        assert received[0].decrypted
        assert received[0].sender == a_user.user_id

        # Bob answers in the same room: the other direction works too.
        alice_got: list[str] = []

        async def on_reply(room: object, event: RoomMessageText) -> None:
            alice_got.append(event.body)

        alice.add_event_callback(on_reply, RoomMessageText)  # type: ignore[arg-type]
        reply = await bob.room_send(room_id, "m.room.message",
                                    {"msgtype": "m.text", "body": "got it"},
                                    ignore_unverified_devices=True)
        assert isinstance(reply, RoomSendResponse), reply
        for _ in range(5):
            await _sync(alice)
            if "got it" in alice_got:
                break
        assert "got it" in alice_got
    finally:
        await alice.close()
        await bob.close()
