"""Hostile transactions from a peer (``PUT /send/{txnId}``): a bad signature, a forged
sender, an event failing auth, a room we're not in — each refused per PDU, never
stored; an event that passes its auth events but not the room's current state is
soft-failed (not shown), and so is a redaction of another server's user's event
without the redact level; more than 50 PDUs is refused whole; a retried transaction gets
the same answer."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from glia.protocol.events import add_hashes, build_event, compute_event_id
from glia.protocol.room_versions import RoomVersion, get_room_version
from glia.protocol.signing import generate_signing_key, sign_event
from tests.api.federation_rooms_kit import RoomPair, join_on_a, membership, state_ids
from tests.api.federation_rooms_kit import rooms_pair as rooms_pair
from tests.federation import signed_request
from tests.kit import Kit, User, assert_error, create_room, send_event, unique


def _event_visible(kit: Kit, user: User, room_id: str, event_id: str) -> bool:
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/event/"
                    f"{quote(event_id)}", user.access_token)
    return r.status_code == 200


class Forger:
    """Builds events of A's room as server B would, signed with ``key`` (B's unless
    told otherwise)."""

    def __init__(self, p: RoomPair, alice: User, room_id: str) -> None:
        self.p, self.room_id = p, room_id
        self.state = state_ids(p.kit_a, alice, room_id)
        r = p.kit_a.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/messages"
                            "?dir=b&limit=1", alice.access_token)
        self.prev = [r.json()["chunk"][0]["event_id"]]
        version = get_room_version("12")
        assert version is not None
        self.version: RoomVersion = version

    def event(self, sender: str, content: dict[str, Any], auth_keys: list[tuple[str, str]],
              *, key: Any = None, room_id: str | None = None,
              redacts: str | None = None) -> tuple[str, dict[str, Any]]:
        auth = [self.state[k] for k in auth_keys if k in self.state]
        pdu = build_event(self.version, room_id=room_id or self.room_id, sender=sender,
                          event_type="m.room.message" if redacts is None
                          else "m.room.redaction", content=content, redacts=redacts,
                          prev_events=self.prev, auth_events=sorted(auth), depth=100,
                          origin_server_ts=self.p.kit_a.server_now(),
                          server_name=self.p.b.name)
        pdu = sign_event(pdu, self.version, self.p.b.name, key or self.p.b.signing_key())
        return compute_event_id(pdu, self.version), pdu


def test_hostile_transaction_refused_per_pdu(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    forge = Forger(p, alice, room_id)
    bob_auth = [("m.room.power_levels", ""), ("m.room.member", bob.user_id)]

    good_id, good = forge.event(bob.user_id, {"msgtype": "m.text", "body": "fine"}, bob_auth)
    bad_sig_id, bad_sig = forge.event(bob.user_id, {"body": "bad signature"}, bob_auth,
                                      key=generate_signing_key(p.b.signing_key().version))
    forged_id, forged = forge.event(alice.user_id, {"body": "forged"},
                                    [("m.room.power_levels", ""),
                                     ("m.room.member", alice.user_id)])
    mallory = f"@{unique('mallory')}:{p.b.name}"
    no_auth_id, no_auth = forge.event(mallory, {"body": "not a member"},
                                      [("m.room.power_levels", "")])
    elsewhere = f"!{unique('nowhere')}:{p.a.name}"
    other_id, other = forge.event(bob.user_id, {"body": "other room"}, bob_auth,
                                  room_id=elsewhere)
    txn = {"origin": p.b.name, "origin_server_ts": 0,
           "pdus": [good, bad_sig, forged, no_auth, other, "not an event"], "edus": []}
    path = f"/_matrix/federation/v1/send/{unique('txn')}"
    r = signed_request(p.b.name, p.b.signing_key(), p.a, "PUT", path, txn)
    assert r.status_code == 200, r.text
    results = r.json()["pdus"]
    assert results[good_id] == {}
    for refused in (bad_sig_id, forged_id, no_auth_id, other_id):
        assert "error" in results[refused], (refused, results)
    assert "bad signature" in results[bad_sig_id]["error"]
    assert "not signed by" in results[forged_id]["error"] or \
        "user of this server" in results[forged_id]["error"]
    assert "not in the room" in results[other_id]["error"]
    assert _event_visible(p.kit_a, alice, room_id, good_id)
    for refused in (bad_sig_id, forged_id, no_auth_id):
        assert not _event_visible(p.kit_a, alice, room_id, refused)
    # The same transaction again: the same answer, nothing applied twice.
    again = signed_request(p.b.name, p.b.signing_key(), p.a, "PUT", path, txn)
    assert again.json() == r.json()

    # Oversized: refused whole, nothing stored.
    many = [forge.event(bob.user_id, {"body": f"flood {i}"}, bob_auth) for i in range(51)]
    r = signed_request(p.b.name, p.b.signing_key(), p.a, "PUT",
                       f"/_matrix/federation/v1/send/{unique('txn')}",
                       {"origin": p.b.name, "origin_server_ts": 0,
                        "pdus": [pdu for _, pdu in many]})
    assert_error(r, 400, "M_BAD_JSON")
    assert not _event_visible(p.kit_a, alice, room_id, many[0][0])

    # A redaction of alice's message by bob, who lacks the redact level: soft-failed,
    # alice's message keeps its content.
    target = send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "mine"})
    redaction_id, redaction = forge.event(bob.user_id, {}, bob_auth, redacts=target)
    r = signed_request(p.b.name, p.b.signing_key(), p.a, "PUT",
                       f"/_matrix/federation/v1/send/{unique('txn')}",
                       {"origin": p.b.name, "origin_server_ts": 0, "pdus": [redaction]})
    assert r.json()["pdus"][redaction_id] == {}
    assert not _event_visible(p.kit_a, alice, room_id, redaction_id)
    r = p.kit_a.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/event/"
                        f"{quote(target)}", alice.access_token)
    assert r.json()["content"]["body"] == "mine"

    # Soft failure: bob is kicked on A; an event of bob that cites his old membership
    # passes its own auth events but not the current state: accepted, never shown.
    r = p.kit_a.request("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/kick",
                        alice.access_token, json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    late_id, late = forge.event(bob.user_id, {"body": "after the kick"}, bob_auth)
    r = signed_request(p.b.name, p.b.signing_key(), p.a, "PUT",
                       f"/_matrix/federation/v1/send/{unique('txn')}",
                       {"origin": p.b.name, "origin_server_ts": 0, "pdus": [late]})
    assert r.json()["pdus"][late_id] == {}
    assert not _event_visible(p.kit_a, alice, room_id, late_id)


def test_make_join_and_send_join_refusals(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    public = create_room(p.kit_a, alice, preset="public_chat")
    private = create_room(p.kit_a, alice, preset="private_chat")
    bob = f"@{unique('bob')}:{p.b.name}"
    key = p.b.signing_key()

    def make_join(room_id: str, user_id: str, query: str = "?ver=12") -> Any:
        return signed_request(p.b.name, key, p.a, "GET",
                              f"/_matrix/federation/v1/make_join/{quote(room_id)}/"
                              f"{quote(user_id)}{query}")

    ok = make_join(public, bob)
    assert ok.status_code == 200, ok.text
    assert ok.json()["room_version"] == "12"
    assert ok.json()["event"]["content"] == {"membership": "join"}
    body = assert_error(make_join(public, bob, "?ver=1&ver=2"), 400,
                        "M_INCOMPATIBLE_ROOM_VERSION")
    assert body["room_version"] == "12"
    assert_error(make_join(public, f"@{unique('x')}:{p.a.name}"), 403, "M_FORBIDDEN")
    assert_error(make_join(private, bob), 403, "M_FORBIDDEN")
    assert_error(make_join(f"!{unique('none')}:{p.a.name}", bob), 404, "M_NOT_FOUND")

    # send_join: the template signed by B under another event ID, and a join of a user
    # of another server, are refused; nothing joins.
    version = get_room_version("12")
    assert version is not None
    event = dict(ok.json()["event"])
    signed = sign_event(add_hashes(event), version, p.b.name, key)
    event_id = compute_event_id(signed, version)
    wrong = signed_request(p.b.name, key, p.a, "PUT",
                           f"/_matrix/federation/v2/send_join/{quote(public)}/$wrong", signed)
    assert_error(wrong, 400, "M_INVALID_PARAM")
    assert membership(p.kit_a, alice, public, bob) is None
    good = signed_request(p.b.name, key, p.a, "PUT",
                          f"/_matrix/federation/v2/send_join/{quote(public)}/"
                          f"{quote(event_id)}", signed)
    assert good.status_code == 200, good.text
    answer = good.json()
    assert {e["type"] for e in answer["state"]} >= {"m.room.create", "m.room.power_levels",
                                                    "m.room.join_rules"}
    assert answer["auth_chain"] and answer["event"]["signatures"].keys() == {p.a.name,
                                                                            p.b.name}
    assert membership(p.kit_a, alice, public, bob) == "join"


def test_server_acl_and_blocked_rooms_refuse_pdus_and_edus(rooms_pair: RoomPair) -> None:
    """A room whose ``m.room.server_acl`` denies B takes no PDU or typing EDU from B (the
    rest of its transaction still applies), nor does a room an admin blocked."""
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    denied = create_room(p.kit_a, alice, preset="public_chat")
    open_room = create_room(p.kit_a, alice, preset="public_chat")
    for room_id in (denied, open_room):
        join_on_a(p, alice, bob, room_id)
    b_host = p.b.name.rsplit(":", 1)[0]
    r = p.kit_a.request("PUT", f"/_matrix/client/v3/rooms/{quote(denied)}/state/"
                        "m.room.server_acl/", alice.access_token,
                        json={"deny": [b_host], "allow": ["*"]})
    assert r.status_code == 200, r.text
    bob_auth = [("m.room.power_levels", ""), ("m.room.member", bob.user_id)]
    in_denied_id, in_denied = Forger(p, alice, denied).event(
        bob.user_id, {"msgtype": "m.text", "body": "denied"}, bob_auth)
    in_open_id, in_open = Forger(p, alice, open_room).event(
        bob.user_id, {"msgtype": "m.text", "body": "allowed"}, bob_auth)
    typing = {"edu_type": "m.typing",
              "content": {"room_id": denied, "user_id": bob.user_id, "typing": True}}
    r = signed_request(p.b.name, p.b.signing_key(), p.a, "PUT",
                       f"/_matrix/federation/v1/send/{unique('txn')}",
                       {"origin": p.b.name, "origin_server_ts": 0,
                        "pdus": [in_denied, in_open], "edus": [typing]})
    assert r.status_code == 200, r.text
    results = r.json()["pdus"]
    assert "server ACL" in results[in_denied_id]["error"], results
    assert results[in_open_id] == {}
    assert not _event_visible(p.kit_a, alice, denied, in_denied_id)
    assert _event_visible(p.kit_a, alice, open_room, in_open_id)
    r = p.kit_a.request("GET", "/_matrix/client/v3/sync?timeout=0", alice.access_token)
    ephemeral = r.json()["rooms"]["join"][denied].get("ephemeral", {}).get("events", [])
    assert not [e for e in ephemeral if bob.user_id in e["content"].get("user_ids", [])]

    # Blocked by an admin: refused too.
    admin = p.kit_a.make_admin()
    r = p.kit_a.request("PUT", f"/_synapse/admin/v1/rooms/{quote(open_room)}/block",
                        admin.access_token, json={"block": True})
    assert r.status_code == 200, r.text
    blocked_id, blocked = Forger(p, alice, open_room).event(
        bob.user_id, {"msgtype": "m.text", "body": "blocked"}, bob_auth)
    r = signed_request(p.b.name, p.b.signing_key(), p.a, "PUT",
                       f"/_matrix/federation/v1/send/{unique('txn')}",
                       {"origin": p.b.name, "origin_server_ts": 0, "pdus": [blocked]})
    assert "blocked" in r.json()["pdus"][blocked_id]["error"]
    assert not _event_visible(p.kit_a, alice, open_room, blocked_id)
