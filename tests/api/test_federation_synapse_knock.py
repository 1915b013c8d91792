"""Knocking, restricted joins and presence between Glia and a real Synapse, both ways: a
user of one server knocks on the other's room, is let in by an invite and joins; a
member of a restricted room's allowed room joins it from the other server (the
resident names and signs for its authoriser); presence set on one server shows on the
other. Uses the one Glia + Synapse pair of the run (tests/fed_synapse.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.api.federation_rooms_kit import join, membership
from tests.fed_synapse import Peers, ok
from tests.kit import Kit, User, create_room, unique, wait_until

V3 = "/_matrix/client/v3"

SIDES = pytest.mark.parametrize("glia_owns", [True, False], ids=["glia-room", "synapse-room"])


@pytest.fixture(scope="module")
def peers(synapse_peers: Peers) -> Peers:
    return synapse_peers


def _sides(peers: Peers, glia_owns: bool) -> tuple[Kit, Kit, str]:
    """(the owner's kit, the other's kit, the owner's server name)."""
    if glia_owns:
        return peers.kit_g, peers.kit_s, peers.glia.name
    return peers.kit_s, peers.kit_g, peers.synapse.name


def _wait_member(kit: Kit, user: User, room_id: str, member: str, state: str) -> None:
    wait_until(lambda: membership(kit, user, room_id, member) == state,
               what=f"{user.user_id} to see {member} {state}")


def _sync_rooms(kit: Kit, user: User) -> dict[str, Any]:
    return dict(ok(kit.request("GET", f"{V3}/sync?timeout=0", user.access_token))
                .get("rooms", {}))


@SIDES
def test_knock_then_invited_and_joined(peers: Peers, glia_owns: bool) -> None:
    owner_kit, other_kit, owner_server = _sides(peers, glia_owns)
    owner = owner_kit.register_user(unique("owner"))
    knocker = other_kit.register_user(unique("knocker"))
    room_id = create_room(owner_kit, owner, preset="private_chat", room_version="12",
                          initial_state=[{"type": "m.room.join_rules", "state_key": "",
                                          "content": {"join_rule": "knock"}}])
    r = other_kit.request("POST", f"{V3}/knock/{quote(room_id)}?via={quote(owner_server)}",
                          knocker.access_token, json={"reason": "hello"})
    assert ok(r)["room_id"] == room_id
    wait_until(lambda: room_id in _sync_rooms(other_kit, knocker).get("knock", {}),
               what="the knock in the knocker's /sync")
    _wait_member(owner_kit, owner, room_id, knocker.user_id, "knock")
    ok(owner_kit.request("POST", f"{V3}/rooms/{quote(room_id)}/invite", owner.access_token,
                         json={"user_id": knocker.user_id}))
    wait_until(lambda: room_id in _sync_rooms(other_kit, knocker).get("invite", {}),
               what="the invite in the knocker's /sync")
    ok(join(other_kit, knocker, room_id, via=[owner_server]))
    _wait_member(owner_kit, owner, room_id, knocker.user_id, "join")


@SIDES
def test_restricted_room_joined_from_the_other_server(peers: Peers, glia_owns: bool
                                                      ) -> None:
    owner_kit, other_kit, owner_server = _sides(peers, glia_owns)
    owner = owner_kit.register_user(unique("owner"))
    member = other_kit.register_user(unique("member"))
    outsider = other_kit.register_user(unique("outsider"))
    allowed = create_room(owner_kit, owner, preset="public_chat", room_version="10")
    room_id = create_room(owner_kit, owner, preset="private_chat", room_version="10",
                          initial_state=[{"type": "m.room.join_rules", "state_key": "",
                                          "content": {"join_rule": "restricted", "allow": [
                                              {"type": "m.room_membership",
                                               "room_id": allowed}]}}])
    r = join(other_kit, outsider, room_id, via=[owner_server])
    assert r.status_code == 403, r.text
    ok(join(other_kit, member, allowed, via=[owner_server]))
    _wait_member(owner_kit, owner, allowed, member.user_id, "join")
    ok(join(other_kit, member, room_id, via=[owner_server]))
    _wait_member(owner_kit, owner, room_id, member.user_id, "join")
    event = ok(owner_kit.request("GET", f"{V3}/rooms/{quote(room_id)}/state/m.room.member/"
                                 f"{quote(member.user_id)}", owner.access_token))
    assert event["join_authorised_via_users_server"] == owner.user_id


def _status(kit: Kit, reader: User, user_id: str) -> dict[str, Any]:
    r = kit.request("GET", f"{V3}/presence/{quote(user_id)}/status", reader.access_token)
    return dict(r.json()) if r.status_code == 200 else {}


def test_presence_both_ways(peers: Peers) -> None:
    kit_g, kit_s = peers.kit_g, peers.kit_s
    glia_user = kit_g.register_user(unique("gp"))
    synapse_user = kit_s.register_user(unique("sp"))
    room_id = create_room(kit_g, glia_user, preset="public_chat")
    ok(join(kit_s, synapse_user, room_id, via=[peers.glia.name]))
    _wait_member(kit_g, glia_user, room_id, synapse_user.user_id, "join")
    for kit, user, reader_kit, reader in ((kit_g, glia_user, kit_s, synapse_user),
                                          (kit_s, synapse_user, kit_g, glia_user)):
        # Read once before the update: Synapse (1.163) answers a read of a user it has
        # no presence for with a default it then keeps, and a read racing the EDU's
        # write overwrites the new presence with that default until the next update.
        assert _status(reader_kit, reader, user.user_id).get("status_msg") is None
        status = unique("status")
        ok(kit.request("PUT", f"{V3}/presence/{quote(user.user_id)}/status",
                       user.access_token, json={"presence": "online", "status_msg": status}))
        _wait_status(reader_kit, reader, user.user_id, status)
        assert _status(reader_kit, reader, user.user_id)["presence"] == "online"


def _wait_status(kit: Kit, reader: User, user_id: str, status: str) -> None:
    wait_until(lambda: _status(kit, reader, user_id).get("status_msg") == status,
               what=f"{user_id}'s presence on the other server")
