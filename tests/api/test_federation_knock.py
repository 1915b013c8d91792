"""Knocking and restricted joins across two Glia servers: a user of B knocks on A's room
(``make_knock`` / ``send_knock``), sees it under ``knock`` in ``/sync``, is let in by an
invite and joins, or withdraws the knock; a room whose join rule forbids knocking
refuses it; a restricted room of A is joinable from B by a member of its allowed room
(A names and signs for its authoriser), not by anyone else, and A says it cannot
authorise a join that depends on a room it is not in. Hostile knocks (a forged sender,
another membership) are refused."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from glia.protocol.events import add_hashes, compute_event_id
from glia.protocol.room_versions import get_room_version
from glia.protocol.signing import sign_event
from tests.api.federation_rooms_kit import RoomPair, join, join_on_a, membership
from tests.api.federation_rooms_kit import rooms_pair as rooms_pair
from tests.federation import signed_request
from tests.kit import Kit, User, assert_error, create_room, unique, wait_until


def _knock(kit: Kit, user: User, room: str, via: list[str]) -> Any:
    query = "&".join(f"via={quote(v)}" for v in via)
    return kit.request("POST", f"/_matrix/client/v3/knock/{quote(room)}?{query}",
                       user.access_token, json={"reason": "let me in"})


def _sync(kit: Kit, user: User) -> dict[str, Any]:
    r = kit.request("GET", "/_matrix/client/v3/sync?timeout=0", user.access_token)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _knock_room(p: RoomPair, alice: User, join_rule: str = "knock") -> str:
    return create_room(p.kit_a, alice, preset="private_chat", initial_state=[
        {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": join_rule}}])


def test_knock_on_remote_room_then_invited_and_joined(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = _knock_room(p, alice)

    r = _knock(p.kit_b, bob, room_id, [p.a.name])
    assert r.status_code == 200, r.text
    assert r.json() == {"room_id": room_id}
    knocked = _sync(p.kit_b, bob)["rooms"].get("knock", {})
    assert room_id in knocked
    own = [e for e in knocked[room_id]["knock_state"]["events"]
           if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    assert own and own[0]["content"]["membership"] == "knock"
    # What A answered the knock with (B is not in the room): the room's join rule.
    rules = [e for e in knocked[room_id]["knock_state"]["events"]
             if e["type"] == "m.room.join_rules"]
    assert [e["content"]["join_rule"] for e in rules] == ["knock"]
    # A's admin sees the knock, with its reason, and lets bob in.
    wait_until(lambda: membership(p.kit_a, alice, room_id, bob.user_id) == "knock",
               what="bob's knock on A")
    member = p.kit_a.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                             f"m.room.member/{quote(bob.user_id)}", alice.access_token)
    assert member.json()["reason"] == "let me in"
    r = p.kit_a.request("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/invite",
                        alice.access_token, json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    assert room_id in _sync(p.kit_b, bob)["rooms"].get("invite", {})
    assert join(p.kit_b, bob, room_id).status_code == 200
    wait_until(lambda: membership(p.kit_a, alice, room_id, bob.user_id) == "join",
               what="bob's join on A")
    assert membership(p.kit_b, bob, room_id, alice.user_id) == "join"


def test_knock_withdrawn_over_federation(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = _knock_room(p, alice, "knock_restricted")
    assert _knock(p.kit_b, bob, room_id, [p.a.name]).status_code == 200
    wait_until(lambda: membership(p.kit_a, alice, room_id, bob.user_id) == "knock",
               what="bob's knock on A")
    r = p.kit_b.request("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/leave",
                        bob.access_token, json={})
    assert r.status_code == 200, r.text
    assert membership(p.kit_a, alice, room_id, bob.user_id) == "leave"
    assert room_id not in _sync(p.kit_b, bob)["rooms"].get("knock", {})


def test_knock_refused_where_the_join_rule_forbids_it(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    for rule in ("invite", "public"):
        room_id = _knock_room(p, alice, rule)
        assert_error(_knock(p.kit_b, bob, room_id, [p.a.name]), 403, "M_FORBIDDEN")
        assert membership(p.kit_a, alice, room_id, bob.user_id) is None
        assert room_id not in _sync(p.kit_b, bob)["rooms"].get("knock", {})
    # A room A is not in: A knows no such room.
    nowhere = f"!{unique('nowhere')}:{p.a.name}"
    assert_error(_knock(p.kit_b, bob, nowhere, [p.a.name]), 404, "M_NOT_FOUND")


def _make_knock(p: RoomPair, room_id: str, user_id: str, query: str = "?ver=12") -> Any:
    return signed_request(p.b.name, p.b.signing_key(), p.a, "GET",
                          f"/_matrix/federation/v1/make_knock/{quote(room_id)}/"
                          f"{quote(user_id)}{query}")


def _send_knock(p: RoomPair, room_id: str, template: dict[str, Any],
                **changes: Any) -> Any:
    version = get_room_version("12")
    assert version is not None
    event = {**template, **changes}
    event = sign_event(add_hashes(event), version, p.b.name, p.b.signing_key())
    event_id = compute_event_id(event, version)
    return signed_request(p.b.name, p.b.signing_key(), p.a, "PUT",
                          f"/_matrix/federation/v1/send_knock/{quote(room_id)}/"
                          f"{quote(event_id)}", event)


def test_hostile_make_and_send_knock(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = f"@{unique('bob')}:{p.b.name}"
    room_id = _knock_room(p, alice)
    assert_error(_make_knock(p, room_id, bob, ""), 400, "M_INCOMPATIBLE_ROOM_VERSION")
    assert_error(_make_knock(p, room_id, bob, "?ver=6"), 400,
                 "M_INCOMPATIBLE_ROOM_VERSION")
    # B may not make a knock for A's user.
    assert_error(_make_knock(p, room_id, f"@{unique('carol')}:{p.a.name}"), 403,
                 "M_FORBIDDEN")
    r = _make_knock(p, room_id, bob)
    assert r.status_code == 200, r.text
    assert r.json()["room_version"] == "12"
    template = r.json()["event"]
    assert template["content"] == {"membership": "knock"}

    # The knock of a user of A, signed by B; a join posing as a knock; a knock of
    # someone else's membership: refused, nothing written.
    forged_user = f"@{unique('carol')}:{p.a.name}"
    assert_error(_send_knock(p, room_id, template, sender=forged_user,
                             state_key=forged_user), 403, "M_FORBIDDEN")
    assert_error(_send_knock(p, room_id, template, content={"membership": "join"}), 400,
                 "M_INVALID_PARAM")
    assert_error(_send_knock(p, room_id, template, state_key=alice.user_id), 400,
                 "M_INVALID_PARAM")
    r = signed_request(p.b.name, p.b.signing_key(), p.a, "PUT",
                       f"/_matrix/federation/v1/send_knock/{quote(room_id)}/$nothing",
                       {"type": "m.room.member"})
    assert 400 <= r.status_code < 500, r.text
    assert membership(p.kit_a, alice, room_id, bob) is None

    # The genuine knock is taken, and answered with the room's state for the knocker.
    r = _send_knock(p, room_id, template, content={"membership": "knock"})
    assert r.status_code == 200, r.text
    types = {e["type"] for e in r.json()["knock_room_state"]}
    assert {"m.room.create", "m.room.join_rules"} <= types
    assert membership(p.kit_a, alice, room_id, bob) == "knock"


def _restricted_room(p: RoomPair, alice: User, allowed: str) -> str:
    return create_room(p.kit_a, alice, preset="private_chat", initial_state=[{
        "type": "m.room.join_rules", "state_key": "",
        "content": {"join_rule": "restricted",
                    "allow": [{"type": "m.room_membership", "room_id": allowed}]}}])


def test_restricted_room_joinable_over_federation_by_allowed_members(
        rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    carol = p.kit_b.register_user(unique("carol"))
    space = create_room(p.kit_a, alice, preset="public_chat")
    room_id = _restricted_room(p, alice, space)

    # carol is in no allowed room: A (in every allowed room) refuses her.
    assert_error(join(p.kit_b, carol, room_id, via=[p.a.name]), 403, "M_FORBIDDEN")
    join_on_a(p, alice, bob, space, "bob's join of the allowed room on A")
    r = join(p.kit_b, bob, room_id, via=[p.a.name])
    assert r.status_code == 200, r.text
    wait_until(lambda: membership(p.kit_a, alice, room_id, bob.user_id) == "join",
               what="bob's restricted join on A")
    member = p.kit_a.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                             f"m.room.member/{quote(bob.user_id)}", alice.access_token)
    assert member.json()["join_authorised_via_users_server"] == alice.user_id
    assert membership(p.kit_b, bob, room_id, alice.user_id) == "join"


def test_restricted_join_that_a_cannot_authorise(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    # The allowed room is B's, and A is not in it: A cannot tell whether bob is.
    elsewhere = create_room(p.kit_b, bob, preset="private_chat")
    room_id = _restricted_room(p, alice, elsewhere)
    r = signed_request(p.b.name, p.b.signing_key(), p.a, "GET",
                       f"/_matrix/federation/v1/make_join/{quote(room_id)}/"
                       f"{quote(bob.user_id)}?ver=12")
    assert_error(r, 400, "M_UNABLE_TO_AUTHORISE_JOIN")
    # Bob's own server, with no other server to ask, passes that answer on.
    assert_error(join(p.kit_b, bob, room_id, via=[p.a.name]), 400,
                 "M_UNABLE_TO_AUTHORISE_JOIN")
    assert membership(p.kit_a, alice, room_id, bob.user_id) is None
