"""Lazy-loading room members (the spec's "Lazy-loading room members" module): ``/sync``
with ``lazy_load_members`` and ``include_redundant_members``, the senders' member events in
``/messages``'s ``state``, and ``/context`` honouring its filter."""

from __future__ import annotations

import json
from typing import Any

from tests.api.test_sync_rooms import join, say, sync
from tests.kit import Kit, User, create_room, send_event

LAZY = {"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 5}}}
REDUNDANT = {"room": {"state": {"lazy_load_members": True,
                                "include_redundant_members": True},
                      "timeline": {"limit": 5}}}


def members(room: dict[str, Any]) -> set[str]:
    return {e["state_key"] for e in room["state"]["events"] if e["type"] == "m.room.member"}


def busy_room(kit: Kit) -> tuple[str, User, list[User], User]:
    """A room of an owner, four quiet members and a talker who said 12 things."""
    owner = kit.register_user()
    room = create_room(kit, owner, preset="public_chat")
    quiet = [kit.register_user() for _ in range(4)]
    talker = kit.register_user()
    for user in (*quiet, talker):
        join(kit, user, room)
    say(kit, talker, room, 12, "t")
    return room, owner, quiet, talker


def test_sync_sends_each_member_once_unless_redundant_members_are_asked_for(kit: Kit
                                                                            ) -> None:
    room, owner, quiet, talker = busy_room(kit)
    reader = kit.register_user()
    join(kit, reader, room)
    say(kit, talker, room, 5, "u")
    first = sync(kit, reader, None, LAZY)
    assert members(first["rooms"]["join"][room]) == {talker.user_id, reader.user_id}

    # The talker again, and one of the quiet ones for the first time.
    say(kit, talker, room, 1, "again")
    send_event(kit, quiet[0], room)
    later = sync(kit, reader, first["next_batch"], LAZY)["rooms"]["join"][room]
    assert members(later) == {quiet[0].user_id}

    # Asking for redundant members: every sender's member event, every time.
    say(kit, talker, room, 1, "more")
    send_event(kit, quiet[0], room)
    full = sync(kit, reader, first["next_batch"], REDUNDANT)["rooms"]["join"][room]
    assert {talker.user_id, quiet[0].user_id} <= members(full)

    # A sync without a token starts over: the client has nothing, it gets them again.
    again = sync(kit, reader, None, LAZY)["rooms"]["join"][room]
    assert {quiet[0].user_id, talker.user_id} <= members(again)
    assert owner.user_id not in members(again)


def test_messages_returns_the_senders_members(kit: Kit) -> None:
    room, owner, quiet, talker = busy_room(kit)
    send_event(kit, quiet[1], room)
    path = f"/_matrix/client/v3/rooms/{room}/messages"
    r = kit.request("GET", path, owner.access_token, params={
        "dir": "b", "limit": "3",
        "filter": json.dumps({"lazy_load_members": True})})
    assert r.status_code == 200, r.text
    body = r.json()
    senders = {e["sender"] for e in body["chunk"]}
    assert senders == {quiet[1].user_id, talker.user_id}
    state = body["state"]
    assert {e["state_key"] for e in state} == senders
    assert all(e["type"] == "m.room.member" and e["content"]["membership"] == "join"
               for e in state)
    # Without lazy loading there is no `state`.
    plain = kit.request("GET", path, owner.access_token, params={"dir": "b", "limit": "3"})
    assert "state" not in plain.json()


def test_context_honours_its_filter(kit: Kit) -> None:
    room, owner, quiet, talker = busy_room(kit)
    middle = send_event(kit, quiet[2], room)
    say(kit, talker, room, 2, "after")
    path = f"/_matrix/client/v3/rooms/{room}/context/{middle}"
    r = kit.request("GET", path, owner.access_token, params={
        "limit": "4", "filter": json.dumps({"lazy_load_members": True})})
    assert r.status_code == 200, r.text
    body = r.json()
    shown = {e["sender"] for e in (body["event"], *body["events_before"],
                                   *body["events_after"])}
    state_members = {e["state_key"] for e in body["state"] if e["type"] == "m.room.member"}
    assert state_members == shown == {quiet[2].user_id, talker.user_id}

    # The filter's types apply to the state as well (never to the event itself).
    r = kit.request("GET", path, owner.access_token, params={
        "limit": "4", "filter": json.dumps({"types": ["m.room.create", "m.room.message"]})})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {e["type"] for e in body["state"]} == {"m.room.create"}
    assert body["event"]["event_id"] == middle
