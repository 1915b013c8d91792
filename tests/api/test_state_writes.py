"""Writing state and joining (spec: ``PUT /rooms/{roomId}/state/…``, ``/join``,
``/createRoom``), where Glia matches the spec text and Synapse's observable behaviour."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from signedjson.key import encode_verify_key_base64, generate_signing_key, get_verify_key
from signedjson.sign import sign_json

from tests.kit import Kit, User, assert_error, create_room, unique

V3 = "/_matrix/client/v3"


def _put_state(kit: Kit, user: User, room_id: str, event_type: str, content: Any,
               state_key: str = "") -> Any:
    return kit.request("PUT", f"{V3}/rooms/{room_id}/state/{event_type}/{state_key}",
                       user.access_token, json=content)


def _newest_ids(kit: Kit, user: User, room_id: str) -> list[str]:
    r = kit.request("GET", f"{V3}/rooms/{room_id}/messages?dir=b&limit=50", user.access_token)
    return [e["event_id"] for e in r.json()["chunk"]]


def test_same_state_twice_returns_the_existing_event(kit: Kit) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice)
    first = _put_state(kit, alice, room_id, "m.room.topic", {"topic": "Same"})
    assert first.status_code == 200, first.text
    before = _newest_ids(kit, alice, room_id)
    again = _put_state(kit, alice, room_id, "m.room.topic", {"topic": "Same"})
    assert again.status_code == 200, again.text
    assert again.json()["event_id"] == first.json()["event_id"]
    assert _newest_ids(kit, alice, room_id) == before
    changed = _put_state(kit, alice, room_id, "m.room.topic", {"topic": "Other"})
    assert changed.json()["event_id"] != first.json()["event_id"]


def test_canonical_alias_must_exist_and_point_at_the_room(kit: Kit) -> None:
    alice = kit.register_user()
    room_id, other_room = create_room(kit, alice), create_room(kit, alice)
    mine, theirs = f"#{unique('ca')}:localhost", f"#{unique('ca')}:localhost"
    for alias, target in ((mine, room_id), (theirs, other_room)):
        r = kit.request("PUT", f"{V3}/directory/room/{quote(alias)}", alice.access_token,
                        json={"room_id": target})
        assert r.status_code == 200, r.text
    missing = f"#{unique('nope')}:localhost"
    assert_error(_put_state(kit, alice, room_id, "m.room.canonical_alias",
                            {"alias": missing}), 400, "M_BAD_ALIAS")
    assert_error(_put_state(kit, alice, room_id, "m.room.canonical_alias",
                            {"alias": theirs}), 400, "M_BAD_ALIAS")
    assert_error(_put_state(kit, alice, room_id, "m.room.canonical_alias",
                            {"alias": mine, "alt_aliases": [theirs]}), 400, "M_BAD_ALIAS")
    assert_error(_put_state(kit, alice, room_id, "m.room.canonical_alias",
                            {"alias": "not-an-alias"}), 400, "M_INVALID_PARAM")
    assert_error(_put_state(kit, alice, room_id, "m.room.canonical_alias",
                            {"alt_aliases": "nope"}), 400, "M_INVALID_PARAM")
    r = _put_state(kit, alice, room_id, "m.room.canonical_alias",
                   {"alias": mine, "alt_aliases": [mine]})
    assert r.status_code == 200, r.text
    # An alias already named stays valid even once deleted; clearing always works.
    r = kit.request("DELETE", f"{V3}/directory/room/{quote(mine)}", alice.access_token)
    assert r.status_code == 200, r.text
    r = _put_state(kit, alice, room_id, "m.room.canonical_alias",
                   {"alias": mine, "alt_aliases": [mine], "x": 1})
    assert r.status_code == 200, r.text
    r = _put_state(kit, alice, room_id, "m.room.canonical_alias", {})
    assert r.status_code == 200, r.text


def test_world_readable_state_is_readable_by_non_members(kit: Kit) -> None:
    alice, stranger = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, name="Open book")
    assert_error(kit.request("GET", f"{V3}/rooms/{room_id}/state", stranger.access_token),
                 403, "M_FORBIDDEN")
    r = _put_state(kit, alice, room_id, "m.room.history_visibility",
                   {"history_visibility": "world_readable"})
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"{V3}/rooms/{room_id}/state", stranger.access_token)
    assert r.status_code == 200, r.text
    assert ("m.room.name", "") in {(e["type"], e["state_key"]) for e in r.json()}
    r = kit.request("GET", f"{V3}/rooms/{room_id}/state/m.room.name", stranger.access_token)
    assert r.json() == {"name": "Open book"}


@pytest.mark.parametrize("by_alias", [False, True])
def test_join_carries_reason_and_body_keys_into_the_member_event(kit: Kit,
                                                                 by_alias: bool) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    name = unique("join")
    room_id = create_room(kit, alice, preset="public_chat", room_alias_name=name)
    path = f"{V3}/join/{quote(f'#{name}:localhost')}" if by_alias \
        else f"{V3}/rooms/{room_id}/join"
    r = kit.request("POST", path, bob.access_token,
                    json={"reason": "Saying hi", "org.example.flag": {"a": 1},
                          "displayname": "Bob here",
                          "join_authorised_via_users_server": alice.user_id})
    assert r.status_code == 200, r.text
    member = kit.request("GET", f"{V3}/rooms/{room_id}/state/m.room.member/{bob.user_id}",
                         bob.access_token).json()
    assert member == {"membership": "join", "reason": "Saying hi",
                      "org.example.flag": {"a": 1}, "displayname": "Bob here"}
    assert_error(kit.request("POST", path, bob.access_token, json={"reason": 5}),
                 400, "M_BAD_JSON")
    assert_error(kit.request("POST", path, bob.access_token,
                             json={"displayname": "x" * 300}), 400, "M_BAD_JSON")


def test_join_with_third_party_signed(kit: Kit) -> None:
    """A user invited by 3PID joins an invite-only room with the identity server's
    signed proof: the server turns the 3PID invite into an invite, then joins."""
    alice, bob, eve = kit.register_user(), kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice)
    key = generate_signing_key("0")
    token = unique("tok")
    r = _put_state(kit, alice, room_id, "m.room.third_party_invite", {
        "display_name": "b...@example.org", "key_validity_url": "https://id.example/v",
        "public_key": encode_verify_key_base64(get_verify_key(key))}, token)
    assert r.status_code == 200, r.text

    def proof(mxid: str) -> dict[str, Any]:
        return sign_json({"mxid": mxid, "sender": alice.user_id, "token": token},
                         "id.example", key)

    assert_error(kit.request("POST", f"{V3}/rooms/{room_id}/join", eve.access_token,
                             json={}), 403, "M_FORBIDDEN")
    # Someone else's proof, or a forged one, gets nobody in.
    assert_error(kit.request("POST", f"{V3}/rooms/{room_id}/join", eve.access_token,
                             json={"third_party_signed": proof(bob.user_id)}),
                 403, "M_FORBIDDEN")
    forged = proof(eve.user_id)
    forged["token"] = token + "x"
    assert_error(kit.request("POST", f"{V3}/rooms/{room_id}/join", eve.access_token,
                             json={"third_party_signed": forged}), 403, "M_FORBIDDEN")
    r = kit.request("POST", f"{V3}/rooms/{room_id}/join", bob.access_token,
                    json={"third_party_signed": proof(bob.user_id)})
    assert r.status_code == 200, r.text
    member = kit.request("GET", f"{V3}/rooms/{room_id}/state/m.room.member/{bob.user_id}",
                         bob.access_token).json()
    assert member["membership"] == "join"
    assert "third_party_signed" not in member


def test_unknown_room_version(kit: Kit) -> None:
    alice = kit.register_user()
    assert_error(kit.request("POST", f"{V3}/createRoom", alice.access_token,
                             json={"room_version": "org.example.nope"}),
                 400, "M_UNSUPPORTED_ROOM_VERSION")
    room_id = create_room(kit, alice)
    assert_error(kit.request("POST", f"{V3}/rooms/{room_id}/upgrade", alice.access_token,
                             json={"new_version": "org.example.nope"}),
                 400, "M_UNSUPPORTED_ROOM_VERSION")


def test_public_chat_preset_has_no_guest_access_event(kit: Kit) -> None:
    alice = kit.register_user()
    public = create_room(kit, alice, preset="public_chat")
    private = create_room(kit, alice, preset="private_chat")

    def types(room_id: str) -> dict[str, Any]:
        r = kit.request("GET", f"{V3}/rooms/{room_id}/state", alice.access_token)
        return {e["type"]: e["content"] for e in r.json()}

    assert "m.room.guest_access" not in types(public)
    assert types(private)["m.room.guest_access"] == {"guest_access": "can_join"}
