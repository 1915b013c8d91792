"""Ignoring users (the spec's "Ignoring Users" module) in ``/sync``: an ignored user's
events and invites are not sent (their state events are), and taking them off the list
sends the shared rooms again as a limited timeline that holds their messages."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.api.test_sync_rooms import join, set_state, sync
from tests.kit import Kit, User, create_room, send_event


def ignore(kit: Kit, user: User, *others: User) -> None:
    r = kit.request("PUT", f"/_matrix/client/v3/user/{quote(user.user_id)}/account_data/"
                    "m.ignored_user_list", user.access_token,
                    json={"ignored_users": {o.user_id: {} for o in others}})
    assert r.status_code == 200, r.text


def senders(room: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["sender"], e["type"]) for e in room["timeline"]["events"]]


def test_ignored_users_events_and_invites_are_hidden(kit: Kit) -> None:
    alice, bob, troll = kit.register_user(), kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat", name="Hangout")
    join(kit, bob, room)
    join(kit, troll, room)
    ignore(kit, bob, troll)
    since = sync(kit, bob)["next_batch"]
    send_event(kit, troll, room, {"msgtype": "m.text", "body": "spam"})
    renamed = set_state(kit, troll, room, "m.room.member",
                        {"membership": "join", "displayname": "Troll"}, troll.user_id)
    send_event(kit, alice, room, {"msgtype": "m.text", "body": "hi"})
    body = sync(kit, bob, since)["rooms"]["join"][room]
    # Their state event is sent (the room must not look different), their message not.
    assert senders(body) == [(troll.user_id, "m.room.member"), (alice.user_id,
                                                                 "m.room.message")]
    assert body["timeline"]["events"][0]["event_id"] == renamed
    # An initial sync hides them too.
    full = sync(kit, bob)["rooms"]["join"][room]
    assert (troll.user_id, "m.room.message") not in senders(full)

    # Invites from an ignored user are not sent; from anyone else they are.
    trolls_room = create_room(kit, troll)
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{trolls_room}/invite",
                    troll.access_token, json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    alices_room = create_room(kit, alice)
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{alices_room}/invite",
                    alice.access_token, json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    invites = sync(kit, bob, since).get("rooms", {}).get("invite", {})
    assert alices_room in invites and trolls_room not in invites
    assert trolls_room not in sync(kit, bob).get("rooms", {}).get("invite", {})
    # Others still see everything.
    assert (troll.user_id, "m.room.message") in senders(
        sync(kit, alice, since)["rooms"]["join"][room])


def test_unignoring_brings_their_history_back(kit: Kit) -> None:
    alice, bob, carol = kit.register_user(), kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat")
    quiet = create_room(kit, alice, preset="public_chat")
    for user in (bob, carol):
        join(kit, user, room)
    join(kit, bob, quiet)
    ignore(kit, bob, carol)
    since = sync(kit, bob)["next_batch"]
    send_event(kit, carol, room, {"msgtype": "m.text", "body": "while ignored"})
    send_event(kit, alice, room, {"msgtype": "m.text", "body": "from alice"})
    first = sync(kit, bob, since)
    assert [b for b in (e["content"].get("body") for e in
                        first["rooms"]["join"][room]["timeline"]["events"]) if b] == \
        ["from alice"]

    ignore(kit, bob)
    body = sync(kit, bob, first["next_batch"])
    again = body["rooms"]["join"][room]
    assert again["timeline"]["limited"] is True
    bodies = [e["content"].get("body") for e in again["timeline"]["events"]]
    assert "while ignored" in bodies and "from alice" in bodies
    # The client starts the room over: state comes whole with it.
    assert ("m.room.create", "") in {(e["type"], e["state_key"]) for e in (
        *again["state"]["events"], *again["timeline"]["events"]) if "state_key" in e}
    # A room carol is not in is not resent, and the reset happens once.
    assert quiet not in body["rooms"].get("join", {})
    assert room not in sync(kit, bob, body["next_batch"]).get("rooms", {}).get("join", {})
