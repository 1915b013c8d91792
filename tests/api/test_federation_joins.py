"""Two Glia servers share rooms: a user on B joins A's room (by ID with ``via``, by
alias), and messages, an edit and a redaction flow both ways in order, seen in each
side's ``/messages`` and ``/sync``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.api.federation_rooms_kit import RoomPair, bodies, join, join_on_a, membership
from tests.api.federation_rooms_kit import rooms_pair as rooms_pair
from tests.kit import Kit, User, create_room, send_event, unique, wait_until


def test_join_by_id_with_via_and_messages_both_ways(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat", name="Federated")
    send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "before bob"})

    r = join(p.kit_b, bob, room_id, via=[p.a.name])
    assert r.status_code == 200, r.text
    assert r.json()["room_id"] == room_id
    # B has the room's state (not its history: that would take backfill); A sees bob.
    assert membership(p.kit_b, bob, room_id, alice.user_id) == "join"
    wait_until(lambda: membership(p.kit_a, alice, room_id, bob.user_id) == "join",
               what="bob's join on A")
    name = p.kit_b.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                           "m.room.name/", bob.access_token)
    assert name.json() == {"name": "Federated"}

    send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": "hi from B"})
    wait_until(lambda: "hi from B" in bodies(p.kit_a, alice, room_id), what="B → A")
    send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "hi from A"})
    wait_until(lambda: "hi from A" in bodies(p.kit_b, bob, room_id), what="A → B")
    for kit, user in ((p.kit_a, alice), (p.kit_b, bob)):
        seen = bodies(kit, user, room_id)
        assert seen.index("hi from B") < seen.index("hi from A")


def _joined_pair(p: RoomPair) -> tuple[User, User, str]:
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    alias = unique("fed")
    room_id = create_room(p.kit_a, alice, preset="public_chat", room_alias_name=alias)
    r = join(p.kit_b, bob, f"#{alias}:{p.a.name}")
    assert r.status_code == 200, r.text
    assert r.json()["room_id"] == room_id
    wait_until(lambda: membership(p.kit_a, alice, room_id, bob.user_id) == "join",
               what="bob's join on A")
    return alice, bob, room_id


def _sync(kit: Kit, user: User, since: str | None = None) -> dict[str, Any]:
    r = kit.request("GET", "/_matrix/client/v3/sync?timeout=0"
                    + (f"&since={since}" if since else ""), user.access_token)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _event(kit: Kit, user: User, room_id: str, event_id: str) -> dict[str, Any] | None:
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/event/"
                    f"{quote(event_id)}", user.access_token)
    return r.json() if r.status_code == 200 else None


def test_join_by_alias_then_edit_redaction_typing_receipts_both_ways(
        rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice, bob, room_id = _joined_pair(p)
    since_b = _sync(p.kit_b, bob)["next_batch"]

    original = send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "typo"})
    send_event(p.kit_a, alice, room_id, {
        "msgtype": "m.text", "body": "* fixed",
        "m.new_content": {"msgtype": "m.text", "body": "fixed"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original}})
    wait_until(lambda: "* fixed" in bodies(p.kit_b, bob, room_id), what="A's edit on B")
    # B's /sync shows A's messages in order.
    timeline = _sync(p.kit_b, bob, since_b)["rooms"]["join"][room_id]["timeline"]["events"]
    got = [e["content"].get("body") for e in timeline if e["type"] == "m.room.message"]
    assert got == ["typo", "* fixed"]

    mine = send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": "secret"})
    wait_until(lambda: _event(p.kit_a, alice, room_id, mine), what="B's message on A")
    r = p.kit_b.request("PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/redact/"
                        f"{quote(mine)}/{unique('txn')}", bob.access_token, json={})
    assert r.status_code == 200, r.text
    wait_until(lambda: (_event(p.kit_a, alice, room_id, mine) or {}).get("content") == {},
               what="B's redaction applied on A")
    r = p.kit_a.request("PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/redact/"
                        f"{quote(original)}/{unique('txn')}", alice.access_token, json={})
    assert r.status_code == 200, r.text
    wait_until(lambda: (_event(p.kit_b, bob, room_id, original) or {}).get("content") == {},
               what="A's redaction applied on B")

    # Typing both ways.
    for kit, user, other_kit, other in ((p.kit_a, alice, p.kit_b, bob),
                                        (p.kit_b, bob, p.kit_a, alice)):
        r = kit.request("PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/typing/"
                        f"{quote(user.user_id)}", user.access_token,
                        json={"typing": True, "timeout": 20000})
        assert r.status_code == 200, r.text

        def typing_seen(other_kit: Kit = other_kit, other: User = other,
                        user: User = user) -> bool:
            room = _sync(other_kit, other).get("rooms", {}).get("join", {}).get(room_id, {})
            return any(e["type"] == "m.typing" and user.user_id in e["content"]["user_ids"]
                       for e in room.get("ephemeral", {}).get("events", []))
        wait_until(typing_seen, what=f"{user.user_id} typing seen on the other server")

    # Read receipts both ways.
    last = send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "read me"})
    wait_until(lambda: _event(p.kit_b, bob, room_id, last), what="A's message on B")
    for kit, user, other_kit, other in ((p.kit_b, bob, p.kit_a, alice),
                                        (p.kit_a, alice, p.kit_b, bob)):
        r = kit.request("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/receipt/"
                        f"m.read/{quote(last)}", user.access_token, json={})
        assert r.status_code == 200, r.text

        def receipt_seen(other_kit: Kit = other_kit, other: User = other,
                         user: User = user) -> bool:
            room = _sync(other_kit, other).get("rooms", {}).get("join", {}).get(room_id, {})
            return any(e["type"] == "m.receipt"
                       and user.user_id in e["content"].get(last, {}).get("m.read", {})
                       for e in room.get("ephemeral", {}).get("events", []))
        wait_until(receipt_seen, what=f"{user.user_id}'s receipt seen on the other server")


def test_leave_both_ways(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice, bob, room_id = _joined_pair(p)
    r = p.kit_b.request("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/leave",
                        bob.access_token, json={})
    assert r.status_code == 200, r.text
    wait_until(lambda: membership(p.kit_a, alice, room_id, bob.user_id) == "leave",
               what="bob's leave on A")
    # Bob comes back, then Alice leaves: B sees it.
    join_on_a(p, alice, bob, room_id, what="bob's second join on A")
    r = p.kit_a.request("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/leave",
                        alice.access_token, json={})
    assert r.status_code == 200, r.text
    wait_until(lambda: membership(p.kit_b, bob, room_id, alice.user_id) == "leave",
               what="alice's leave on B")


def _invited_rooms(kit: Kit, user: User) -> dict[str, Any]:
    return dict(_sync(kit, user).get("rooms", {}).get("invite", {}))


def test_a_room_created_with_a_remote_invitee_invites_them_on_their_server(
        rooms_pair: RoomPair) -> None:
    """A direct chat with another server's user, as Element starts one: ``createRoom``
    with ``invite`` and ``is_direct``; the invitee's server gets the invite."""
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    carol = p.kit_a.register_user(unique("carol"))
    room_id = create_room(p.kit_a, alice, preset="trusted_private_chat", is_direct=True,
                          invite=[bob.user_id, carol.user_id])
    assert membership(p.kit_a, alice, room_id, bob.user_id) == "invite"
    assert membership(p.kit_a, alice, room_id, carol.user_id) == "invite"
    invites = wait_until(lambda: _invited_rooms(p.kit_b, bob), what="the invite on B")
    mine = [e for e in invites[room_id]["invite_state"]["events"]
            if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    assert mine and mine[0]["content"]["membership"] == "invite"
    assert mine[0]["content"]["is_direct"] is True
    r = p.kit_b.request("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/join",
                        bob.access_token, json={})
    assert r.status_code == 200, r.text
    wait_until(lambda: membership(p.kit_a, alice, room_id, bob.user_id) == "join",
               what="bob's join on A")


def test_invite_both_ways(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))

    # A's user invites B's user into an invite-only room; bob joins through A.
    room_id = create_room(p.kit_a, alice, preset="private_chat", name="Invite only")
    r = p.kit_b.request("POST", f"/_matrix/client/v3/join/{quote(room_id)}?via="
                        f"{quote(p.a.name)}", bob.access_token, json={})
    assert r.status_code == 403, r.text  # not invited yet
    r = p.kit_a.request("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/invite",
                        alice.access_token, json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    assert membership(p.kit_a, alice, room_id, bob.user_id) == "invite"
    invites = wait_until(lambda: _invited_rooms(p.kit_b, bob), what="the invite on B")
    assert room_id in invites
    shown = invites[room_id]["invite_state"]["events"]
    assert any(e["type"] == "m.room.member" and e["state_key"] == bob.user_id
               and e["content"]["membership"] == "invite" for e in shown)
    # What A sent with the invite (B is not in the room): its name and join rule, and
    # who invited.
    by_type = {e["type"]: e for e in shown}
    assert by_type["m.room.name"]["content"] == {"name": "Invite only"}
    assert by_type["m.room.join_rules"]["content"]["join_rule"] == "invite"
    assert by_type["m.room.create"]["sender"] == alice.user_id
    r = p.kit_b.request("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/join",
                        bob.access_token, json={})
    assert r.status_code == 200, r.text
    wait_until(lambda: membership(p.kit_a, alice, room_id, bob.user_id) == "join",
               what="bob's join on A")
    send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": "thanks"})
    wait_until(lambda: "thanks" in bodies(p.kit_a, alice, room_id), what="B → A")

    # B's user invites A's user; alice rejects it through B.
    room_b = create_room(p.kit_b, bob, preset="private_chat")
    r = p.kit_b.request("POST", f"/_matrix/client/v3/rooms/{quote(room_b)}/invite",
                        bob.access_token, json={"user_id": alice.user_id})
    assert r.status_code == 200, r.text
    wait_until(lambda: room_b in _invited_rooms(p.kit_a, alice), what="the invite on A")
    r = p.kit_a.request("POST", f"/_matrix/client/v3/rooms/{quote(room_b)}/leave",
                        alice.access_token, json={})
    assert r.status_code == 200, r.text
    assert membership(p.kit_b, bob, room_b, alice.user_id) == "leave"
    assert room_b not in _invited_rooms(p.kit_a, alice)

    # An invite of a user the other server does not have is refused there.
    r = p.kit_a.request("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/invite",
                        alice.access_token, json={"user_id": f"@nobody:{p.b.name}"})
    assert r.status_code == 404, r.text
