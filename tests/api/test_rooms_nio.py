"""The Rooms issue's scenario, driven by matrix-nio as a real client."""

from __future__ import annotations

from nio import (
    AsyncClient,
    JoinResponse,
    MessageDirection,
    RoomContextResponse,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomMessagesResponse,
    RoomRedactResponse,
    RoomResolveAliasResponse,
    RoomSendResponse,
    RoomVisibility,
)

from tests.kit import PASSWORD, Kit, unique
from tests.server import GliaProcess


async def _client(glia: GliaProcess, user_id: str) -> AsyncClient:
    client = AsyncClient(glia.url, user_id)
    await client.login(PASSWORD)
    assert client.access_token
    return client


async def _page_all(client: AsyncClient, room_id: str, direction: MessageDirection
                    ) -> list[str]:
    """Page through the whole room in pages of 7; returns m.room.message event IDs."""
    seen: list[str] = []
    token = ""
    while True:
        page = await client.room_messages(room_id, start=token, direction=direction, limit=7)
        assert isinstance(page, RoomMessagesResponse), page
        seen += [e.event_id for e in page.chunk
                 if e.source.get("type") == "m.room.message"]
        if not page.end:
            return seen
        token = page.end


async def test_two_users_talk_and_paginate(glia: GliaProcess, kit: Kit) -> None:
    a_user, b_user = kit.register_user(), kit.register_user()
    a = await _client(glia, a_user.user_id)
    b = await _client(glia, b_user.user_id)
    try:
        alias_name = unique("nio")
        created = await a.room_create(visibility=RoomVisibility.public, alias=alias_name,
                                      name="nio room", invite=[b_user.user_id])
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id
        assert isinstance(await b.join(room_id), JoinResponse)

        sent: list[str] = []
        for i in range(100):
            for client, who in ((a, "a"), (b, "b")):
                r = await client.room_send(room_id, "m.room.message",
                                           {"msgtype": "m.text", "body": f"{who}{i}"})
                assert isinstance(r, RoomSendResponse), r
                sent.append(r.event_id)

        backwards = await _page_all(a, room_id, MessageDirection.back)
        assert list(reversed(backwards)) == sent
        forwards = await _page_all(b, room_id, MessageDirection.front)
        assert forwards == sent

        middle = sent[100]
        context = await a.room_context(room_id, middle, limit=10)
        assert isinstance(context, RoomContextResponse), context
        before = [e.event_id for e in context.events_before]
        after = [e.event_id for e in context.events_after]
        assert before == list(reversed(sent[95:100]))
        assert after == sent[101:106]

        retry = await a.room_send(room_id, "m.room.message",
                                  {"msgtype": "m.text", "body": "once"}, tx_id="same-txn")
        again = await a.room_send(room_id, "m.room.message",
                                  {"msgtype": "m.text", "body": "once"}, tx_id="same-txn")
        assert isinstance(retry, RoomSendResponse) and isinstance(again, RoomSendResponse)
        assert retry.event_id == again.event_id

        redacted = await a.room_redact(room_id, sent[0], reason="cleanup")
        assert isinstance(redacted, RoomRedactResponse), redacted
        event = await b.room_get_event(room_id, sent[0])
        assert isinstance(event, RoomGetEventResponse), event
        assert event.event.source["content"] == {}
        assert event.event.source["unsigned"]["redacted_because"]["event_id"] \
            == redacted.event_id

        resolved = await b.room_resolve_alias(f"#{alias_name}:localhost")
        assert isinstance(resolved, RoomResolveAliasResponse), resolved
        assert resolved.room_id == room_id
        public = kit.request("GET", "/_matrix/client/v3/publicRooms",
                             params={"limit": "500"}).json()
        assert room_id in [r["room_id"] for r in public["chunk"]]
    finally:
        await a.close()
        await b.close()
