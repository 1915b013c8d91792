"""Room upgrades: ``POST /rooms/{roomId}/upgrade``."""

from __future__ import annotations

from typing import Any

from tests.kit import Kit, User, assert_error, create_room, unique

V3 = "/_matrix/client/v3"


def _state(kit: Kit, user: User, room_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    r = kit.request("GET", f"{V3}/rooms/{room_id}/state", user.access_token)
    assert r.status_code == 200, r.text
    return {(e["type"], e["state_key"]): e for e in r.json()}


def _upgrade(kit: Kit, user: User, room_id: str, version: str, **extra: Any) -> str:
    r = kit.request("POST", f"{V3}/rooms/{room_id}/upgrade", user.access_token,
                    json={"new_version": version, **extra})
    assert r.status_code == 200, r.text
    return str(r.json()["replacement_room"])


def test_upgrade_moves_state_aliases_and_directory(kit: Kit) -> None:
    alice, bob, mallory = kit.register_user(), kit.register_user(), kit.register_user()
    alias_name = unique("up")
    old = create_room(kit, alice, room_version="10", preset="public_chat", name="Old name",
                      topic="About", room_alias_name=alias_name, visibility="public")
    server = alice.user_id.split(":", 1)[1]
    alias = f"#{alias_name}:{server}"
    r = kit.request("POST", f"{V3}/join/{old}", bob.access_token, json={})
    assert r.status_code == 200
    r = kit.request("POST", f"{V3}/rooms/{old}/ban", alice.access_token,
                    json={"user_id": mallory.user_id})
    assert r.status_code == 200

    new = _upgrade(kit, alice, old, "12")
    state = _state(kit, alice, new)
    create = state[("m.room.create", "")]["content"]
    assert create["room_version"] == "12"
    assert create["predecessor"] == {"room_id": old}
    assert state[("m.room.name", "")]["content"] == {"name": "Old name"}
    assert state[("m.room.topic", "")]["content"]["topic"] == "About"
    assert state[("m.room.join_rules", "")]["content"] == {"join_rule": "public"}
    assert state[("m.room.member", mallory.user_id)]["content"]["membership"] == "ban"
    assert state[("m.room.canonical_alias", "")]["content"]["alias"] == alias
    # v12 creators have unlimited power and are not listed in power levels.
    assert alice.user_id not in state[("m.room.power_levels", "")]["content"]["users"]

    old_state = _state(kit, alice, old)
    tombstone = old_state[("m.room.tombstone", "")]["content"]
    assert tombstone["replacement_room"] == new
    old_pl = old_state[("m.room.power_levels", "")]["content"]
    assert old_pl["events_default"] >= 50 and old_pl["invite"] >= 50
    # Bob (level 0) can no longer talk in the old room.
    r = kit.request("PUT", f"{V3}/rooms/{old}/send/m.room.message/t1", bob.access_token,
                    json={"msgtype": "m.text", "body": "still here?"})
    assert_error(r, 403, "M_FORBIDDEN")

    r = kit.request("GET", f"{V3}/directory/room/{alias.replace('#', '%23')}")
    assert r.json()["room_id"] == new
    r = kit.request("GET", f"{V3}/directory/list/room/{new}")
    assert r.json() == {"visibility": "public"}
    r = kit.request("GET", f"{V3}/directory/list/room/{old}")
    assert r.json() == {"visibility": "private"}

    # Bob follows the tombstone into the public replacement room.
    r = kit.request("POST", f"{V3}/join/{new}", bob.access_token, json={})
    assert r.status_code == 200, r.text


def test_upgrade_between_older_versions_keeps_levels(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    old = create_room(kit, alice, room_version="6", preset="public_chat",
                      power_level_content_override={"users": {alice.user_id: 100,
                                                              bob.user_id: "50"}})
    new = _upgrade(kit, alice, old, "11")
    state = _state(kit, alice, new)
    create = state[("m.room.create", "")]
    assert create["content"]["predecessor"]["room_id"] == old
    assert create["content"]["predecessor"]["event_id"].startswith("$")
    # String levels from a v6 room become integers in the v11 room.
    assert state[("m.room.power_levels", "")]["content"]["users"] == {
        alice.user_id: 100, bob.user_id: 50}


def test_upgrade_with_additional_creators(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    old = create_room(kit, alice)
    new = _upgrade(kit, alice, old, "12", additional_creators=[bob.user_id])
    create = _state(kit, alice, new)[("m.room.create", "")]["content"]
    assert create["additional_creators"] == [bob.user_id]


def test_upgrade_errors(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat")
    path = f"{V3}/rooms/{room}/upgrade"
    assert_error(kit.request("POST", path, alice.access_token, json={"new_version": "99"}),
                 400, "M_UNSUPPORTED_ROOM_VERSION")
    assert_error(kit.request("POST", path, alice.access_token, json={}), 400,
                 "M_MISSING_PARAM")
    assert_error(kit.request("POST", path, alice.access_token, json={
        "new_version": "12", "additional_creators": ["nope"]}), 400, "M_INVALID_PARAM")
    assert_error(kit.request("POST", path, alice.access_token, content=b"{"), 400,
                 "M_NOT_JSON")
    # Not joined, then joined without the power to send a tombstone.
    assert_error(kit.request("POST", path, bob.access_token, json={"new_version": "12"}),
                 403, "M_FORBIDDEN")
    kit.request("POST", f"{V3}/join/{room}", bob.access_token, json={})
    assert_error(kit.request("POST", path, bob.access_token, json={"new_version": "12"}),
                 403, "M_FORBIDDEN")
    assert_error(kit.request("POST", f"{V3}/rooms/!nope:localhost/upgrade",
                             alice.access_token, json={"new_version": "12"}), 404,
                 "M_NOT_FOUND")
    assert_error(kit.request("POST", f"{V3}/rooms/bad/upgrade", alice.access_token,
                             json={"new_version": "12"}), 400, "M_INVALID_PARAM")


def test_predecessor_names_the_tombstone(kit: Kit) -> None:
    """The replacement's ``predecessor.event_id`` is the old room's tombstone, so a
    client following the link back lands on the event that closed the old room."""
    alice = kit.register_user()
    old = create_room(kit, alice, room_version="10")
    new = _upgrade(kit, alice, old, "11")
    tombstone = _state(kit, alice, old)[("m.room.tombstone", "")]
    assert tombstone["content"]["replacement_room"] == new
    create = _state(kit, alice, new)[("m.room.create", "")]
    assert create["content"]["predecessor"] == {"room_id": old,
                                                "event_id": tombstone["event_id"]}


def test_failed_upgrade_leaves_no_live_tombstone(kit: Kit) -> None:
    """The tombstone goes first (it is the predecessor's event_id); when the new room
    then cannot be made (here: carrying over the ban of a user as powerful as the
    upgrader fails the auth rules), the tombstone is redacted so that no client follows
    it to a room that does not exist."""
    alice, bob = kit.register_user(), kit.register_user()
    old = create_room(kit, alice, room_version="10", preset="public_chat")
    r = kit.request("POST", f"{V3}/join/{old}", bob.access_token, json={})
    assert r.status_code == 200, r.text
    r = kit.request("POST", f"{V3}/rooms/{old}/ban", alice.access_token,
                    json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    levels = _state(kit, alice, old)[("m.room.power_levels", "")]["content"]
    levels["users"][bob.user_id] = 100
    r = kit.request("PUT", f"{V3}/rooms/{old}/state/m.room.power_levels/",
                    alice.access_token, json=levels)
    assert r.status_code == 200, r.text
    r = kit.request("POST", f"{V3}/rooms/{old}/upgrade", alice.access_token,
                    json={"new_version": "11"})
    assert r.status_code == 403, r.text
    tombstone = _state(kit, alice, old).get(("m.room.tombstone", ""))
    assert tombstone is None or "replacement_room" not in tombstone["content"]
