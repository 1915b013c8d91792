"""Rooms shared by Glia and a real Synapse on loopback: each server's users join the
other's public rooms (by room ID with ``via`` / ``server_name``, and by alias), are
invited across and accept or reject, send messages both ways that each side sees in
``/messages``, leave and rejoin both ways, see each other's typing and read receipts, and the other
side's state changes, redactions, kicks and bans; each server's
``federation/destinations`` admin API lists the other with the shared room. Uses the one
Glia + Synapse pair of the run (tests/fed_synapse.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.api.federation_rooms_kit import bodies, join, membership
from tests.fed_synapse import Peers, ok
from tests.kit import Kit, User, create_room, send_event, unique, wait_until

V3 = "/_matrix/client/v3"


@pytest.fixture(scope="module")
def peers(synapse_peers: Peers) -> Peers:
    return synapse_peers


def say(kit: Kit, user: User, room_id: str, body: str) -> None:
    send_event(kit, user, quote(room_id), {"msgtype": "m.text", "body": body})


def wait_seen(kit: Kit, user: User, room_id: str, body: str) -> None:
    wait_until(lambda: body in bodies(kit, user, room_id),
               what=f"{user.user_id} to see {body!r}")


def wait_member(kit: Kit, user: User, room_id: str, member: str, state: str) -> None:
    wait_until(lambda: membership(kit, user, room_id, member) == state,
               what=f"{user.user_id} to see {member} {state}")


def public_room(kit: Kit, user: User, alias: str | None = None,
                room_version: str | None = None) -> str:
    body: dict[str, Any] = {"preset": "public_chat", "visibility": "public"}
    if alias:
        body["room_alias_name"] = alias
    if room_version:
        body["room_version"] = room_version
    return create_room(kit, user, **body)


# Synapse's default room version, and the newest (room IDs without a server name).
VERSIONS = pytest.mark.parametrize("room_version", ["10", "12"])


@VERSIONS
def test_glia_user_joins_a_synapse_room_by_id_and_by_alias(peers: Peers, room_version: str
                                                           ) -> None:
    kit_g, kit_s = peers.kit_g, peers.kit_s
    owner = kit_s.register_user(unique("so"))
    by_id = kit_g.register_user(unique("gi"))
    by_alias = kit_g.register_user(unique("ga"))
    localpart = unique("sroom")
    room_id = public_room(kit_s, owner, localpart, room_version)

    ok(join(kit_g, by_id, room_id, via=[peers.synapse.name]))
    r = kit_g.request("POST", f"{V3}/join/{quote(f'#{localpart}:{peers.synapse.name}')}",
                      by_alias.access_token, json={})
    assert ok(r)["room_id"] == room_id
    wait_member(kit_s, owner, room_id, by_id.user_id, "join")
    wait_member(kit_s, owner, room_id, by_alias.user_id, "join")

    say(kit_s, owner, room_id, "from synapse")
    say(kit_g, by_id, room_id, "from glia")
    for kit, user in ((kit_g, by_id), (kit_g, by_alias), (kit_s, owner)):
        wait_seen(kit, user, room_id, "from synapse")
        wait_seen(kit, user, room_id, "from glia")


def test_glia_user_joins_with_server_name(peers: Peers) -> None:
    kit_g, kit_s = peers.kit_g, peers.kit_s
    owner = kit_s.register_user(unique("so"))
    joiner = kit_g.register_user(unique("gs"))
    room_id = public_room(kit_s, owner)
    ok(kit_g.request("POST", f"{V3}/join/{quote(room_id)}"
                     f"?server_name={quote(peers.synapse.name)}", joiner.access_token,
                     json={}))
    wait_member(kit_s, owner, room_id, joiner.user_id, "join")
    say(kit_g, joiner, room_id, "hello synapse")
    wait_seen(kit_s, owner, room_id, "hello synapse")


@VERSIONS
def test_synapse_user_joins_a_glia_room(peers: Peers, room_version: str) -> None:
    kit_g, kit_s = peers.kit_g, peers.kit_s
    owner = kit_g.register_user(unique("go"))
    by_id = kit_s.register_user(unique("si"))
    by_alias = kit_s.register_user(unique("sa"))
    localpart = unique("groom")
    room_id = public_room(kit_g, owner, localpart, room_version)

    ok(join(kit_s, by_id, room_id, via=[peers.glia.name]))
    r = kit_s.request("POST", f"{V3}/join/{quote(f'#{localpart}:{peers.glia.name}')}",
                      by_alias.access_token, json={})
    assert ok(r)["room_id"] == room_id
    wait_member(kit_g, owner, room_id, by_id.user_id, "join")
    wait_member(kit_g, owner, room_id, by_alias.user_id, "join")

    say(kit_g, owner, room_id, "from glia")
    say(kit_s, by_id, room_id, "from synapse")
    for kit, user in ((kit_s, by_id), (kit_s, by_alias), (kit_g, owner)):
        wait_seen(kit, user, room_id, "from glia")
        wait_seen(kit, user, room_id, "from synapse")


def wait_invited(kit: Kit, user: User, room_id: str) -> dict[str, Any]:
    """The invite's entry in the invitee's ``/sync``, once it shows."""
    def invited() -> dict[str, Any] | None:
        r = ok(kit.request("GET", f"{V3}/sync?timeout=0", user.access_token))
        return r.get("rooms", {}).get("invite", {}).get(room_id)
    return wait_until(invited, what=f"{user.user_id} to see the invite")


def test_invites_both_ways_are_accepted(peers: Peers) -> None:
    kit_g, kit_s = peers.kit_g, peers.kit_s
    for inviter_kit, invitee_kit in ((kit_g, kit_s), (kit_s, kit_g)):
        inviter = inviter_kit.register_user(unique("inv"))
        invitee = invitee_kit.register_user(unique("ive"))
        name = unique("named")
        room_id = create_room(inviter_kit, inviter, preset="private_chat", name=name)
        ok(inviter_kit.request("POST", f"{V3}/rooms/{quote(room_id)}/invite",
                               inviter.access_token, json={"user_id": invitee.user_id}))
        # The room's name travels with the invite (the invitee's server is not in it).
        shown = wait_invited(invitee_kit, invitee, room_id)["invite_state"]["events"]
        assert [e["content"] for e in shown if e["type"] == "m.room.name"] == \
            [{"name": name}]
        ok(invitee_kit.request("POST", f"{V3}/rooms/{quote(room_id)}/join",
                               invitee.access_token, json={}))
        wait_member(inviter_kit, inviter, room_id, invitee.user_id, "join")
        say(invitee_kit, invitee, room_id, "thanks")
        say(inviter_kit, inviter, room_id, "welcome")
        wait_seen(inviter_kit, inviter, room_id, "thanks")
        wait_seen(invitee_kit, invitee, room_id, "welcome")


@pytest.mark.parametrize("glia_invites", [True, False], ids=["from-glia", "from-synapse"])
def test_invites_both_ways_are_rejected(peers: Peers, glia_invites: bool) -> None:
    """Rejecting goes through the inviting server (``make_leave`` / ``send_leave``)."""
    inviter_kit, invitee_kit = ((peers.kit_g, peers.kit_s) if glia_invites
                                else (peers.kit_s, peers.kit_g))
    inviter = inviter_kit.register_user(unique("inv"))
    invitee = invitee_kit.register_user(unique("ive"))
    room_id = create_room(inviter_kit, inviter, preset="private_chat")
    ok(inviter_kit.request("POST", f"{V3}/rooms/{quote(room_id)}/invite",
                           inviter.access_token, json={"user_id": invitee.user_id}))
    wait_invited(invitee_kit, invitee, room_id)
    ok(invitee_kit.request("POST", f"{V3}/rooms/{quote(room_id)}/leave",
                           invitee.access_token, json={}))
    wait_member(inviter_kit, inviter, room_id, invitee.user_id, "leave")


@pytest.mark.parametrize("glia_owns", [True, False], ids=["glia-room", "synapse-room"])
def test_leave_rejoin_and_profile_change(peers: Peers, glia_owns: bool) -> None:
    """The other server's user leaves (the room goes on without them), joins again (its
    server has to join the room anew) and changes its display name, which its server
    sends as a new member event."""
    owner_kit, guest_kit = (peers.kit_g, peers.kit_s) if glia_owns else (peers.kit_s,
                                                                         peers.kit_g)
    via = [peers.glia.name if glia_owns else peers.synapse.name]
    owner = owner_kit.register_user(unique("lo"))
    guest = guest_kit.register_user(unique("lg"))
    room_id = public_room(owner_kit, owner)
    ok(join(guest_kit, guest, room_id, via=via))
    wait_member(owner_kit, owner, room_id, guest.user_id, "join")
    ok(guest_kit.request("POST", f"{V3}/rooms/{quote(room_id)}/leave",
                         guest.access_token, json={}))
    wait_member(owner_kit, owner, room_id, guest.user_id, "leave")
    say(owner_kit, owner, room_id, "after leaving")
    wait_seen(owner_kit, owner, room_id, "after leaving")

    ok(join(guest_kit, guest, room_id, via=via))
    wait_member(owner_kit, owner, room_id, guest.user_id, "join")
    say(owner_kit, owner, room_id, "welcome back")
    say(guest_kit, guest, room_id, "back again")
    wait_seen(guest_kit, guest, room_id, "welcome back")
    wait_seen(owner_kit, owner, room_id, "back again")

    ok(guest_kit.request("PUT", f"{V3}/profile/{quote(guest.user_id)}/displayname",
                         guest.access_token, json={"displayname": "Renamed guest"}))
    wait_until(lambda: owner_kit.request(
        "GET", f"{V3}/rooms/{quote(room_id)}/state/m.room.member/{quote(guest.user_id)}",
        owner.access_token).json().get("displayname") == "Renamed guest",
        what="the owner's server to see the guest's new display name")


def _destination_rooms(kit: Kit, admin: User, name: str) -> list[str]:
    r = kit.request("GET", f"/_synapse/admin/v1/federation/destinations/{quote(name)}/rooms",
                    admin.access_token)
    if r.status_code == 404:  # not listed yet
        return []
    return [room["room_id"] for room in ok(r)["rooms"]]


def test_destinations_admin_api_lists_the_shared_room_both_ways(peers: Peers) -> None:
    """Each server lists the other as a destination, with the room they share, once it
    sent the other an event of that room."""
    kit_g, kit_s = peers.kit_g, peers.kit_s
    owner = kit_g.register_user(unique("do"))
    guest = kit_s.register_user(unique("dg"))
    room_id = public_room(kit_g, owner)
    ok(join(kit_s, guest, room_id, via=[peers.glia.name]))
    say(kit_g, owner, room_id, "to synapse")
    say(kit_s, guest, room_id, "to glia")
    wait_seen(kit_s, guest, room_id, "to synapse")
    wait_seen(kit_g, owner, room_id, "to glia")

    for kit, admin, other in ((kit_g, peers.admin_g, peers.synapse.name),
                              (kit_s, peers.admin_s, peers.glia.name)):
        wait_until(lambda kit=kit, admin=admin, other=other:
                   room_id in _destination_rooms(kit, admin, other),
                   what=f"{kit.base_url} to list {room_id} for {other}")
        listed = ok(kit.request("GET", "/_synapse/admin/v1/federation/destinations"
                                f"?limit=100&destination={quote(other)}",
                                admin.access_token))
        assert other in [d["destination"] for d in listed["destinations"]]
        body = ok(kit.request("GET", f"/_synapse/admin/v1/federation/destinations/"
                              f"{quote(other)}/rooms", admin.access_token))
        [entry] = [room for room in body["rooms"] if room["room_id"] == room_id]
        assert isinstance(entry["stream_ordering"], int)
        assert body["total"] >= 1


def _ephemeral(kit: Kit, user: User, room_id: str) -> list[dict[str, Any]]:
    r = ok(kit.request("GET", f"{V3}/sync?timeout=0", user.access_token))
    events: list[dict[str, Any]] = r.get("rooms", {}).get("join", {}).get(
        room_id, {}).get("ephemeral", {}).get("events", [])
    return events


def _typing(kit: Kit, user: User, room_id: str) -> list[str]:
    for event in _ephemeral(kit, user, room_id):
        if event["type"] == "m.typing":
            return list(event["content"]["user_ids"])
    return []


def _read_by(kit: Kit, user: User, room_id: str, event_id: str) -> list[str]:
    for event in _ephemeral(kit, user, room_id):
        if event["type"] == "m.receipt" and event_id in event["content"]:
            return list(event["content"][event_id].get("m.read", {}))
    return []


@pytest.mark.parametrize("glia_owns", [True, False], ids=["glia-room", "synapse-room"])
def test_typing_and_read_receipts_both_ways(peers: Peers, glia_owns: bool) -> None:
    kit_g, kit_s = peers.kit_g, peers.kit_s
    on_glia = kit_g.register_user(unique("tg"))
    on_synapse = kit_s.register_user(unique("ts"))
    if glia_owns:
        room_id = public_room(kit_g, on_glia)
        ok(join(kit_s, on_synapse, room_id, via=[peers.glia.name]))
    else:
        room_id = public_room(kit_s, on_synapse)
        ok(join(kit_g, on_glia, room_id, via=[peers.synapse.name]))
    wait_member(kit_g, on_glia, room_id, on_synapse.user_id, "join")
    wait_member(kit_s, on_synapse, room_id, on_glia.user_id, "join")

    sides = ((kit_g, on_glia, kit_s, on_synapse), (kit_s, on_synapse, kit_g, on_glia))
    for kit, user, other_kit, other in sides:
        ok(kit.request("PUT", f"{V3}/rooms/{quote(room_id)}/typing/{quote(user.user_id)}",
                       user.access_token, json={"typing": True, "timeout": 30000}))
        wait_until(lambda other_kit=other_kit, other=other, user=user:
                   user.user_id in _typing(other_kit, other, room_id),
                   what=f"{other.user_id} to see {user.user_id} typing")
        ok(kit.request("PUT", f"{V3}/rooms/{quote(room_id)}/typing/{quote(user.user_id)}",
                       user.access_token, json={"typing": False}))
        wait_until(lambda other_kit=other_kit, other=other, user=user:
                   user.user_id not in _typing(other_kit, other, room_id),
                   what=f"{other.user_id} to see {user.user_id} stop typing")

    for kit, user, other_kit, other in sides:
        body = unique("read me")
        say(other_kit, other, room_id, body)
        wait_seen(kit, user, room_id, body)
        event_id = next(e["event_id"] for e in reversed(
            ok(kit.request("GET", f"{V3}/rooms/{quote(room_id)}/messages?dir=b&limit=10",
                           user.access_token))["chunk"]) if e["content"].get("body") == body)
        ok(kit.request("POST", f"{V3}/rooms/{quote(room_id)}/receipt/m.read/"
                       f"{quote(event_id)}", user.access_token, json={}))
        wait_until(lambda other_kit=other_kit, other=other, user=user, event_id=event_id:
                   user.user_id in _read_by(other_kit, other, room_id, event_id),
                   what=f"{other.user_id} to see {user.user_id}'s read receipt")


@pytest.mark.parametrize("glia_owns", [True, False], ids=["glia-room", "synapse-room"])
def test_state_redaction_kick_and_ban_reach_the_other_server(peers: Peers, glia_owns: bool
                                                             ) -> None:
    owner_kit, guest_kit = (peers.kit_g, peers.kit_s) if glia_owns else (peers.kit_s,
                                                                         peers.kit_g)
    via = [peers.glia.name if glia_owns else peers.synapse.name]
    owner = owner_kit.register_user(unique("mo"))
    guest = guest_kit.register_user(unique("mg"))
    room_id = public_room(owner_kit, owner)
    rooms = f"{V3}/rooms/{quote(room_id)}"
    ok(join(guest_kit, guest, room_id, via=via))
    wait_member(owner_kit, owner, room_id, guest.user_id, "join")
    assert set(ok(guest_kit.request("GET", f"{rooms}/joined_members", guest.access_token)
                  )["joined"]) == {owner.user_id, guest.user_id}

    ok(owner_kit.request("PUT", f"{rooms}/state/m.room.name/", owner.access_token,
                         json={"name": "Renamed"}))
    wait_until(lambda: guest_kit.request("GET", f"{rooms}/state/m.room.name/",
                                         guest.access_token).json().get("name") == "Renamed",
               what="the guest to see the new name")

    event_id = send_event(owner_kit, owner, quote(room_id),
                          {"msgtype": "m.text", "body": "to redact"})
    wait_seen(guest_kit, guest, room_id, "to redact")
    ok(owner_kit.request("PUT", f"{rooms}/redact/{quote(event_id)}/{unique('r')}",
                         owner.access_token, json={}))

    def redacted() -> bool:
        r = guest_kit.request("GET", f"{rooms}/event/{quote(event_id)}", guest.access_token)
        return r.status_code == 200 and r.json()["content"] == {}
    wait_until(redacted, what="the guest to see the redaction")

    ok(owner_kit.request("POST", f"{rooms}/kick", owner.access_token,
                         json={"user_id": guest.user_id}))
    wait_member(guest_kit, guest, room_id, guest.user_id, "leave")
    ok(join(guest_kit, guest, room_id, via=via))
    wait_member(owner_kit, owner, room_id, guest.user_id, "join")
    ok(owner_kit.request("POST", f"{rooms}/ban", owner.access_token,
                         json={"user_id": guest.user_id}))
    # Synapse refuses a banned user the room's state (403); Glia shows the ban.
    wait_until(lambda: membership(guest_kit, guest, room_id, guest.user_id)
               in ("ban", None) and membership(owner_kit, owner, room_id,
                                                guest.user_id) == "ban",
               what="both servers to know of the ban")
    r = join(guest_kit, guest, room_id, via=via)
    assert r.status_code == 403, r.text
