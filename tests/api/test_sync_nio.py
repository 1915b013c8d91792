"""matrix-nio's own sync loop against Glia: rooms, members, messages, typing, receipts
and tags arrive in nio's room model as a real client would see them."""

from __future__ import annotations

import asyncio

from nio import AsyncClient, RoomCreateResponse, RoomMessageText, SyncResponse

from tests.kit import PASSWORD, Kit
from tests.server import GliaProcess


async def _client(glia: GliaProcess, user_id: str) -> AsyncClient:
    client = AsyncClient(glia.url, user_id)
    await client.login(PASSWORD)
    assert client.access_token
    return client


async def test_nio_sync_loop(glia: GliaProcess, kit: Kit) -> None:
    a_user, b_user = kit.register_user(), kit.register_user()
    a = await _client(glia, a_user.user_id)
    b = await _client(glia, b_user.user_id)
    try:
        created = await a.room_create(name="nio sync", invite=[b_user.user_id])
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id
        first = await b.sync(timeout=5000)
        assert isinstance(first, SyncResponse), first
        assert room_id in b.invited_rooms
        await b.join(room_id)
        await b.sync(timeout=5000)
        assert room_id in b.rooms
        assert b.rooms[room_id].display_name == "nio sync"
        assert set(b.rooms[room_id].users) == {a_user.user_id, b_user.user_id}

        received: list[str] = []

        async def on_message(room: object, event: RoomMessageText) -> None:
            received.append(event.body)

        b.add_event_callback(on_message, RoomMessageText)  # type: ignore[arg-type]
        waiter = asyncio.create_task(b.sync(timeout=20_000))
        # Lets the long-poll start waiting first (what is under test: the wake-up).
        await asyncio.sleep(0.3)
        await a.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "hi b"})
        result = await asyncio.wait_for(waiter, 15)
        assert isinstance(result, SyncResponse), result
        assert received == ["hi b"]

        await a.room_typing(room_id, True, timeout=10_000)
        await b.sync(timeout=5000)
        assert a_user.user_id in b.rooms[room_id].typing_users
        event_id = result.rooms.join[room_id].timeline.events[-1].event_id
        await b.room_read_markers(room_id, event_id, event_id)
        await a.sync(timeout=5000)
        receipt = a.rooms[room_id].read_receipts[b_user.user_id]
        assert receipt.event_id == event_id
    finally:
        await a.close()
        await b.close()
