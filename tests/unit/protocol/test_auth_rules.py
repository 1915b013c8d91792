"""Authorization rules per room version, on rooms built with the real protocol code."""

from __future__ import annotations

from typing import Any

import pytest
from unpaddedbase64 import encode_base64

from glia.errors import AuthRuleError
from glia.protocol import auth_rules, signing
from glia.protocol.auth_rules import auth_types_for_event, check_auth, check_auth_events
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS
from tests.unit.protocol.roomkit import Room, standard_room

ALICE, BOB, CAROL, DAVE = "@alice:a.test", "@bob:b.test", "@carol:c.test", "@dave:d.test"
ALL_VERSIONS = [str(n) for n in range(1, 13)]


def rejected(room: Room, *args: Any, **kwargs: Any) -> str:
    """Build an event and return the reason the auth rules reject it."""
    event = room.make(*args, **kwargs)
    with pytest.raises(AuthRuleError) as info:
        room.check(event)
    return str(info.value)


# --- the normal life of a room, in every version ---------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_room_lifecycle_is_allowed(version: str) -> None:
    room = standard_room(version)
    room.join(BOB)
    room.send(BOB, "m.room.message", {"body": "hi", "msgtype": "m.text"})
    room.send(ALICE, "m.room.name", {"name": "Room"}, "")
    room.member(ALICE, CAROL, "invite")
    room.join(CAROL)
    room.member(ALICE, CAROL, "leave")  # kick
    room.member(ALICE, BOB, "ban")
    room.member(ALICE, BOB, "leave")  # unban
    room.member(DAVE, DAVE, "join")
    room.member(DAVE, DAVE, "leave")


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_non_member_cannot_send(version: str) -> None:
    room = standard_room(version)
    assert "not joined" in rejected(room, BOB, "m.room.message", {"body": "x"})
    room.join(BOB)
    room.member(BOB, BOB, "leave")
    assert "not joined" in rejected(room, BOB, "m.room.message", {"body": "x"})


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_insufficient_power(version: str) -> None:
    room = standard_room(version)
    room.join(BOB)
    assert "power level" in rejected(room, BOB, "m.room.name", {"name": "x"}, "")  # 50 > 0
    assert "may not kick" in rejected(room, BOB, "m.room.member", {"membership": "leave"}, ALICE)
    assert "may not ban" in rejected(room, BOB, "m.room.member", {"membership": "ban"}, ALICE)
    room.send(ALICE, "m.room.power_levels", _pl(room, events_default=10), "")
    assert "power level" in rejected(room, BOB, "m.room.message", {"body": "x"})


def _pl(room: Room, users: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    content = dict(room.state[("m.room.power_levels", "")]["content"])
    if users is not None:
        content["users"] = users
    content.update(overrides)
    return content


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_banned_user_cannot_join(version: str) -> None:
    room = standard_room(version)
    room.join(BOB)
    room.member(ALICE, BOB, "ban")
    assert "banned" in rejected(room, BOB, "m.room.member", {"membership": "join"}, BOB)
    assert "already ban" in rejected(room, ALICE, "m.room.member", {"membership": "invite"}, BOB)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_invite_only_join_needs_an_invite(version: str) -> None:
    room = standard_room(version, join_rule="invite")
    assert "not invited" in rejected(room, BOB, "m.room.member", {"membership": "join"}, BOB)
    assert "force" in rejected(room, ALICE, "m.room.member", {"membership": "join"}, BOB)
    room.member(ALICE, BOB, "invite")
    room.join(BOB)
    # A non-member may not invite.
    assert "not joined" in rejected(room, CAROL, "m.room.member", {"membership": "invite"}, DAVE)


def test_invite_level() -> None:
    room = standard_room("11")
    room.join(BOB)
    room.power_levels(ALICE, _pl(room, invite=50))
    assert "may not invite" in rejected(room, BOB, "m.room.member", {"membership": "invite"}, CAROL)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_power_level_escalation(version: str) -> None:
    room = standard_room(version, users={BOB: 50, CAROL: 50})
    room.join(BOB)
    room.join(CAROL)
    alice = {} if room.rv.privileged_creators else {ALICE: 100}
    # Bob needs the m.room.power_levels level (100) to send power levels at all.
    assert "power level" in rejected(
        room, BOB, "m.room.power_levels", _pl(room, {**alice, BOB: 100, CAROL: 50}), ""
    )
    room.power_levels(ALICE, _pl(room, events={"m.room.power_levels": 50}))
    # Raising himself above his level.
    assert "above" in rejected(
        room, BOB, "m.room.power_levels", _pl(room, {**alice, BOB: 75, CAROL: 50}), ""
    )
    # Changing a user at his own level.
    assert "level of" in rejected(
        room, BOB, "m.room.power_levels", _pl(room, {**alice, BOB: 50, CAROL: 0}), ""
    )
    # Raising a default above his level.
    assert "ban" in rejected(room, BOB, "m.room.power_levels", _pl(room, ban=60), "")
    # Changing a default that is currently above his level.
    room.power_levels(ALICE, _pl(room, kick=60))
    assert "kick" in rejected(room, BOB, "m.room.power_levels", _pl(room, kick=40), "")
    # Event levels above his own.
    events = {"m.room.power_levels": 50, "m.room.topic": 70}
    assert "events" in rejected(room, BOB, "m.room.power_levels", _pl(room, events=events), "")
    # Allowed: lowering himself, adding a user below him.
    room.power_levels(BOB, _pl(room, {**alice, BOB: 50, CAROL: 50, DAVE: 10}))
    room.power_levels(BOB, _pl(room, {**alice, BOB: 40, CAROL: 50, DAVE: 10}))


def test_notifications_limited_from_v6_only() -> None:
    for version, limited in (("5", False), ("6", True)):
        room = standard_room(version, users={BOB: 50})
        room.join(BOB)
        room.power_levels(ALICE, _pl(room, events={"m.room.power_levels": 50}))
        content = _pl(room, notifications={"room": 100})
        if limited:
            assert "notifications" in rejected(room, BOB, "m.room.power_levels", content, "")
        else:
            room.power_levels(BOB, content)


def test_string_power_levels_only_before_v10() -> None:
    for version in ("1", "9"):
        room = standard_room(version)
        room.power_levels(ALICE, _pl(room, {ALICE: "100", BOB: " +050 "}, ban="50"))
        room.join(BOB)
        room.member(BOB, CAROL, "ban")  # Bob has 50 == ban level
    room = standard_room("10")
    assert "users" in rejected(room, ALICE, "m.room.power_levels", _pl(room, {ALICE: "100"}), "")
    assert "ban" in rejected(room, ALICE, "m.room.power_levels", _pl(room, ban="50"), "")
    bad_events = _pl(room, events={"m.room.name": "50"})
    assert "events" in rejected(room, ALICE, "m.room.power_levels", bad_events, "")
    assert "valid user ID" in rejected(
        room, ALICE, "m.room.power_levels", _pl(room, {ALICE: 100, "bob": 1}), ""
    )


def test_float_power_levels_only_up_to_v5() -> None:
    room = standard_room("5")
    room.power_levels(ALICE, _pl(room, {ALICE: 100, BOB: 50.57}))
    room.join(BOB)
    room.member(BOB, CAROL, "ban")
    room9 = standard_room("9")
    assert "valid power level" in rejected(
        room9, ALICE, "m.room.power_levels", _pl(room9, {ALICE: 100, BOB: 50.5}), ""
    )


# --- knocking and restricted rooms ---------------------------------------------------


def test_knock_only_from_v7() -> None:
    room6 = standard_room("6", join_rule="knock")
    assert "unknown membership" in rejected(
        room6, BOB, "m.room.member", {"membership": "knock"}, BOB
    )
    # In v6 "knock" is not a join rule at all, so an invite does not help either.
    room6.member(ALICE, BOB, "invite")
    assert "does not allow" in rejected(room6, BOB, "m.room.member", {"membership": "join"}, BOB)

    room7 = standard_room("7", join_rule="knock")
    room7.member(BOB, BOB, "knock")
    assert "on behalf" in rejected(room7, BOB, "m.room.member", {"membership": "knock"}, CAROL)
    assert "not invited" in rejected(room7, BOB, "m.room.member", {"membership": "join"}, BOB)
    room7.member(BOB, BOB, "leave")  # rescind the knock
    room7.member(BOB, BOB, "knock")
    room7.member(ALICE, BOB, "invite")
    room7.join(BOB)
    assert "cannot knock" in rejected(room7, BOB, "m.room.member", {"membership": "knock"}, BOB)

    public7 = standard_room("7", join_rule="public")
    assert "knocks" in rejected(public7, BOB, "m.room.member", {"membership": "knock"}, BOB)


def test_knock_restricted_from_v10() -> None:
    room9 = standard_room("9", join_rule="knock_restricted")
    assert "knocks" in rejected(room9, BOB, "m.room.member", {"membership": "knock"}, BOB)
    room10 = standard_room("10", join_rule="knock_restricted")
    room10.member(BOB, BOB, "knock")


def _restricted_join(room: Room, user: str, via: str, signers: tuple[str, ...]) -> dict[str, Any]:
    return room.make(
        user,
        "m.room.member",
        {"membership": "join", "join_authorised_via_users_server": via},
        user,
        extra_signers=signers,
    )


@pytest.mark.parametrize("version", ["8", "9", "10", "11", "12"])
def test_restricted_join(version: str) -> None:
    room = standard_room(version, join_rule="restricted")
    room.power_levels(ALICE, _pl(room, invite=10))
    # Valid: Alice is joined and may invite, and her server signed the join.
    good = _restricted_join(room, BOB, ALICE, ("a.test",))
    room.check(good)
    # The authorising server's signature must be present.
    with pytest.raises(AuthRuleError, match="not signed"):
        room.check(_restricted_join(room, BOB, ALICE, ()))
    # The authorising user must be joined.
    with pytest.raises(AuthRuleError, match="not joined"):
        room.check(_restricted_join(room, BOB, DAVE, ("d.test",)))
    # ...and able to invite.
    room.member(ALICE, CAROL, "invite")
    room.join(CAROL)  # invited members join a restricted room without an authoriser
    with pytest.raises(AuthRuleError, match="may not invite"):
        room.check(_restricted_join(room, BOB, CAROL, ("c.test",)))
    # No authorising user at all.
    assert "authorising" in rejected(room, BOB, "m.room.member", {"membership": "join"}, BOB)
    room.apply(good)
    # Auth events of a restricted join include the authoriser's membership.
    keys = auth_types_for_event("m.room.member", BOB, BOB, good["content"], room.rv)
    assert ("m.room.member", ALICE) in keys


def test_restricted_join_rule_unknown_before_v8() -> None:
    room = standard_room("7", join_rule="restricted")
    event = _restricted_join(room, BOB, ALICE, ("a.test",))
    with pytest.raises(AuthRuleError, match="does not allow"):
        room.check(event)


# --- creators ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_creator_first_join(version: str) -> None:
    room = Room(version)
    # Someone else cannot join right after the create event.
    assert "not invited" in rejected(room, BOB, "m.room.member", {"membership": "join"}, BOB)
    room.join(ALICE)


def test_creator_without_power_levels_has_100_before_v12() -> None:
    room = Room("11")
    room.join(ALICE)
    room.send(ALICE, "m.room.name", {"name": "x"}, "")  # 100 >= state_default 50
    room.join_rules(ALICE, "public")
    room.join(BOB)
    assert "power level" in rejected(room, BOB, "m.room.name", {"name": "y"}, "")


def test_v12_creators_have_infinite_power() -> None:
    room = standard_room("12", additional_creators=[BOB], users={CAROL: 100})
    room.join(BOB)
    room.join(CAROL)
    # Creators may not be listed in power levels, by anyone.
    assert "creator" in rejected(
        room, ALICE, "m.room.power_levels", _pl(room, {ALICE: 100, CAROL: 100}), ""
    )
    assert "creator" in rejected(
        room, ALICE, "m.room.power_levels", _pl(room, {BOB: 100, CAROL: 100}), ""
    )
    # A 100-level admin cannot kick or ban a creator, or raise anything above 100...
    assert "may not kick" in rejected(room, CAROL, "m.room.member", {"membership": "leave"}, BOB)
    assert "may not ban" in rejected(room, CAROL, "m.room.member", {"membership": "ban"}, ALICE)
    # ...while the additional creator, not listed anywhere, can demote the admin,
    # set any level and kick her.
    room.power_levels(BOB, _pl(room, {CAROL: 99}, kick=1000))
    room.send(BOB, "m.room.tombstone", {"body": "", "replacement_room": "!x"}, "")
    room.member(BOB, CAROL, "leave")


def test_v11_creator_is_not_privileged() -> None:
    room = standard_room("11", users={CAROL: 100})
    room.join(CAROL)
    # Alice is at 100, like Carol: Carol cannot kick her but she cannot kick Carol either.
    assert "may not kick" in rejected(room, ALICE, "m.room.member", {"membership": "leave"}, CAROL)


def test_v12_additional_creators_must_be_user_ids() -> None:
    room = Room("12", create_content={"additional_creators": [BOB]})
    assert room.create["content"]["additional_creators"] == [BOB]
    with pytest.raises(AuthRuleError, match="invalid user ID"):
        Room("12", create_content={"additional_creators": ["bob"]})
    with pytest.raises(AuthRuleError, match="list"):
        Room("12", create_content={"additional_creators": BOB})
    # Before v12 the field is not validated.
    Room("11", create_content={"additional_creators": "whatever"})


# --- the create event and room identity ----------------------------------------------


def test_create_event_rules() -> None:
    room = Room("10")
    create = dict(room.create)
    v10 = KNOWN_ROOM_VERSIONS["10"]
    check_auth(create, {}, v10)
    with pytest.raises(AuthRuleError, match="prev_events"):
        check_auth(dict(create, prev_events=[["$x:a.test", {}]]), {}, v10)
    with pytest.raises(AuthRuleError, match="different servers"):
        check_auth(dict(create, room_id="!room:other.test"), {}, v10)
    with pytest.raises(AuthRuleError, match="unknown room version"):
        check_auth(dict(create, content={"creator": ALICE, "room_version": "99"}), {}, v10)
    with pytest.raises(AuthRuleError, match="no creator"):
        check_auth(dict(create, content={}), {}, v10)
    v11 = KNOWN_ROOM_VERSIONS["11"]
    check_auth(dict(create, content={}), {}, v11)  # v11 needs no creator
    v12 = KNOWN_ROOM_VERSIONS["12"]
    with pytest.raises(AuthRuleError, match="room_id"):
        check_auth(dict(create, content={}), {}, v12)


def test_v12_room_id_must_match_create() -> None:
    room = standard_room("12")
    message = room.make(ALICE, "m.room.message", {"body": "x"})
    room.check(message)
    other = Room("12", creator=BOB)
    message_elsewhere = dict(message, room_id=other.room_id)
    with pytest.raises(AuthRuleError, match="room ID"):
        room.check(message_elsewhere)


def test_create_is_an_auth_event_only_before_v12() -> None:
    v11, v12 = KNOWN_ROOM_VERSIONS["11"], KNOWN_ROOM_VERSIONS["12"]
    assert auth_types_for_event("m.room.message", ALICE, None, {}, v11) == [
        ("m.room.create", ""),
        ("m.room.power_levels", ""),
        ("m.room.member", ALICE),
    ]
    assert auth_types_for_event("m.room.message", ALICE, None, {}, v12) == [
        ("m.room.power_levels", ""),
        ("m.room.member", ALICE),
    ]
    assert auth_types_for_event("m.room.create", ALICE, "", {}, v11) == []
    invite = {"membership": "invite", "third_party_invite": {"signed": {"token": "tok"}}}
    assert auth_types_for_event("m.room.member", ALICE, BOB, invite, v12) == [
        ("m.room.power_levels", ""),
        ("m.room.member", ALICE),
        ("m.room.member", BOB),
        ("m.room.join_rules", ""),
        ("m.room.third_party_invite", "tok"),
    ]


def test_check_auth_events_shape() -> None:
    room = standard_room("11")
    message = room.make(ALICE, "m.room.message", {"body": "x"})
    auth = [room.events[i] for i in message["auth_events"]]
    state = check_auth_events(message, auth, room.rv)
    check_auth(message, state, room.rv)
    with pytest.raises(AuthRuleError, match="duplicate"):
        check_auth_events(message, [*auth, auth[0]], room.rv)
    with pytest.raises(AuthRuleError, match="not needed"):
        check_auth_events(message, [*auth, room.state[("m.room.join_rules", "")]], room.rv)
    no_create = [e for e in auth if e["type"] != "m.room.create"]
    with pytest.raises(AuthRuleError, match=r"no m\.room\.create"):
        check_auth_events(message, no_create, room.rv)
    foreign = dict(auth[1], room_id="!other:a.test")
    with pytest.raises(AuthRuleError, match="another room"):
        check_auth_events(message, [auth[0], foreign, *auth[2:]], room.rv)

    room12 = standard_room("12")
    message12 = room12.make(ALICE, "m.room.message", {"body": "x"})
    auth12 = [room12.events[i] for i in message12["auth_events"]]
    assert all(e["type"] != "m.room.create" for e in auth12)
    state12 = check_auth_events(message12, auth12, room12.rv)
    with pytest.raises(AuthRuleError, match="not needed"):
        check_auth_events(message12, [*auth12, room12.create], room12.rv)
    state12[auth_rules.CREATE_KEY] = room12.create
    check_auth(message12, state12, room12.rv)


# --- other rules ---------------------------------------------------------------------


def test_m_federate_false() -> None:
    room = standard_room("11", **{"m.federate": False})
    assert "not federated" in rejected(room, BOB, "m.room.member", {"membership": "join"}, BOB)
    room.join("@alice2:a.test")


def test_state_key_starting_with_at_must_be_sender() -> None:
    room = standard_room("11")
    room.join(BOB)
    room.power_levels(ALICE, _pl(room, state_default=0))
    room.send(BOB, "org.example.state", {}, BOB)
    assert "@" in rejected(room, BOB, "org.example.state", {}, ALICE)


def test_aliases_special_case_up_to_v5() -> None:
    room5 = standard_room("5")
    room5.send(BOB, "m.room.aliases", {"aliases": ["#x:b.test"]}, "b.test")  # no membership needed
    assert "server" in rejected(room5, BOB, "m.room.aliases", {"aliases": []}, "a.test")
    room6 = standard_room("6")
    assert "not joined" in rejected(room6, BOB, "m.room.aliases", {"aliases": []}, "b.test")


def test_redaction_auth_rule_only_in_v1_v2() -> None:
    room = standard_room("1")
    room.join(BOB)
    own = room.send(BOB, "m.room.message", {"body": "x"})
    alices = room.send(ALICE, "m.room.message", {"body": "y"})
    room.send(BOB, "m.room.redaction", {}, redacts=own["event_id"])
    assert "redact" in rejected(room, BOB, "m.room.redaction", {}, redacts=alices["event_id"])
    room.send(ALICE, "m.room.redaction", {}, redacts=own["event_id"])
    room3 = standard_room("3")
    room3.join(BOB)
    room3.send(BOB, "m.room.redaction", {}, redacts="$anything")  # handled on receipt instead


def test_leave_rules() -> None:
    room = standard_room("11", join_rule="invite")
    assert "not in" in rejected(room, BOB, "m.room.member", {"membership": "leave"}, BOB)
    room.member(ALICE, BOB, "invite")
    room.member(BOB, BOB, "leave")  # reject the invite
    room.member(ALICE, BOB, "ban")
    room.power_levels(ALICE, _pl(room, {ALICE: 100, CAROL: 60}, ban=70))
    room.member(ALICE, CAROL, "invite")
    room.join(CAROL)
    assert "unban" in rejected(room, CAROL, "m.room.member", {"membership": "leave"}, BOB)


def _third_party_room() -> tuple[Room, signing.SigningKey]:
    room = standard_room("11")
    id_key = signing.generate_signing_key("0")
    public_key = encode_base64(bytes(id_key.verify_key))
    room.send(
        ALICE,
        "m.room.third_party_invite",
        {"display_name": "b...", "key_validity_url": "https://id", "public_key": public_key},
        "tok",
    )
    return room, id_key


def test_third_party_invite() -> None:
    room, id_key = _third_party_room()
    signed = signing.sign_json({"mxid": BOB, "token": "tok"}, "id.test", id_key)
    room.send(
        ALICE,
        "m.room.member",
        {"membership": "invite", "third_party_invite": {"display_name": "b", "signed": signed}},
        BOB,
    )
    room.join(BOB)

    forged = signing.sign_json({"mxid": CAROL, "token": "tok"}, "id.test",
                               signing.generate_signing_key("0"))
    content = {"membership": "invite", "third_party_invite": {"signed": forged}}
    assert "not signed" in rejected(room, ALICE, "m.room.member", content, CAROL)
    wrong_mxid = {"membership": "invite", "third_party_invite": {"signed": signed}}
    assert "mxid" in rejected(room, ALICE, "m.room.member", wrong_mxid, CAROL)
    no_token = signing.sign_json({"mxid": CAROL, "token": "nope"}, "id.test", id_key)
    content = {"membership": "invite", "third_party_invite": {"signed": no_token}}
    assert "token" in rejected(room, ALICE, "m.room.member", content, CAROL)


def test_unknown_membership() -> None:
    room = standard_room("11")
    assert "unknown membership" in rejected(room, BOB, "m.room.member", {"membership": "x"}, BOB)
    assert "membership" in rejected(room, BOB, "m.room.member", {}, BOB)
