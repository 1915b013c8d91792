"""Following a room upgrade: a member's tags, ``m.direct`` entry and push rules for the
old room are copied to the new one when they join it (the spec's Room Upgrades module,
server behaviour, as Synapse copies them), without overwriting what they set there;
a space's children are copied by the upgrade itself."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User, create_room, wait_until

V3 = "/_matrix/client/v3"
RULES = f"{V3}/pushrules/global"


def _q(value: str) -> str:
    return quote(value, safe="")


def _ok(kit: Kit, user: User, method: str, path: str, body: Any = None) -> Any:
    r = kit.request(method, path, user.access_token, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _upgrade(kit: Kit, user: User, room_id: str, version: str = "11") -> str:
    body = _ok(kit, user, "POST", f"{V3}/rooms/{room_id}/upgrade", {"new_version": version})
    return str(body["replacement_room"])


def _tags(kit: Kit, user: User, room_id: str) -> dict[str, Any]:
    path = f"{V3}/user/{_q(user.user_id)}/rooms/{room_id}/tags"
    return dict(_ok(kit, user, "GET", path)["tags"])


def _tag(kit: Kit, user: User, room_id: str, tag: str, body: dict[str, Any]) -> None:
    _ok(kit, user, "PUT", f"{V3}/user/{_q(user.user_id)}/rooms/{room_id}/tags/{tag}", body)


def _rule(kit: Kit, user: User, kind: str, rule_id: str) -> dict[str, Any] | None:
    r = kit.request("GET", f"{RULES}/{kind}/{_q(rule_id)}", user.access_token)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return dict(r.json())


def _room_condition(room_id: str) -> dict[str, str]:
    return {"kind": "event_match", "key": "room_id", "pattern": room_id}


def _join(kit: Kit, user: User, room_id: str) -> None:
    _ok(kit, user, "POST", f"{V3}/join/{room_id}", {})


def test_tags_direct_and_room_push_rules_follow_a_member(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    old = create_room(kit, alice, room_version="10", preset="public_chat")
    _join(kit, bob, old)
    _tag(kit, bob, old, "m.favourite", {"order": 0.25})
    _tag(kit, bob, old, "u.work", {})
    _tag(kit, alice, old, "m.lowpriority", {})
    # Bob's "mute" (a room rule) and Element's "mentions only" (an override naming it).
    _ok(kit, bob, "PUT", f"{RULES}/room/{_q(old)}", {"actions": ["dont_notify"]})
    _ok(kit, bob, "PUT", f"{RULES}/override/{_q(old)}",
        {"actions": [], "conditions": [_room_condition(old)]})
    # A disabled rule stays behind, as on Synapse.
    _ok(kit, bob, "PUT", f"{RULES}/underride/off",
        {"actions": ["notify"], "conditions": [_room_condition(old)]})
    _ok(kit, bob, "PUT", f"{RULES}/underride/off/enabled", {"enabled": False})
    direct = f"{V3}/user/{_q(bob.user_id)}/account_data/m.direct"
    _ok(kit, bob, "PUT", direct, {alice.user_id: [old], "@carol:elsewhere": ["!x:y"]})

    new = _upgrade(kit, alice, old)
    # The upgrader joined the new room as part of the upgrade: their tags followed.
    assert wait_until(lambda: _tags(kit, alice, new), what="alice's tags") == {
        "m.lowpriority": {}}
    assert _tags(kit, bob, new) == {}
    assert _rule(kit, bob, "room", new) is None

    since = _ok(kit, bob, "GET", f"{V3}/sync")["next_batch"]
    _join(kit, bob, new)
    assert wait_until(lambda: _tags(kit, bob, new), what="bob's tags") == {
        "m.favourite": {"order": 0.25}, "u.work": {}}
    # The sync that brings the join brings the tags and the changed push rules.
    synced = _ok(kit, bob, "GET", f"{V3}/sync?since={since}&timeout=0")
    joined = synced["rooms"]["join"][new]
    assert {"type": "m.tag", "content": {"tags": {"m.favourite": {"order": 0.25},
                                                  "u.work": {}}}} \
        in joined["account_data"]["events"]
    assert "m.push_rules" in [e["type"] for e in synced["account_data"]["events"]]
    room_rule = wait_until(lambda: _rule(kit, bob, "room", new), what="the room rule")
    assert room_rule == {"rule_id": new, "default": False, "enabled": True,
                         "actions": ["dont_notify"]}
    override = _rule(kit, bob, "override", new)
    assert override is not None
    assert override["conditions"] == [_room_condition(new)]
    assert override["actions"] == [] and override["enabled"] is True
    assert _rule(kit, bob, "underride", new) is None
    # The old room keeps its settings.
    assert _rule(kit, bob, "room", old) is not None
    assert _tags(kit, bob, old) == {"m.favourite": {"order": 0.25}, "u.work": {}}
    assert _ok(kit, bob, "GET", direct) == {alice.user_id: [old, new],
                                            "@carol:elsewhere": ["!x:y"]}

    # The copied rules work: a message in the new room does not notify Bob.
    _ok(kit, alice, "PUT", f"{V3}/rooms/{new}/send/m.room.message/t1",
        {"msgtype": "m.text", "body": "hello"})
    r = _ok(kit, bob, "GET", f"{V3}/notifications")
    assert [n for n in r["notifications"] if n["room_id"] == new] == []


def test_settings_already_in_the_new_room_are_kept(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    old = create_room(kit, alice, room_version="10", preset="public_chat")
    _join(kit, bob, old)
    _tag(kit, bob, old, "m.favourite", {})
    _ok(kit, bob, "PUT", f"{RULES}/room/{_q(old)}", {"actions": ["dont_notify"]})
    _ok(kit, bob, "PUT", f"{RULES}/override/{_q(old)}",
        {"actions": [], "conditions": [_room_condition(old)]})
    new = _upgrade(kit, alice, old)
    # Bob set up the new room before joining it.
    _tag(kit, bob, new, "m.lowpriority", {})
    _ok(kit, bob, "PUT", f"{RULES}/room/{_q(new)}",
        {"actions": ["notify", {"set_tweak": "sound", "value": "default"}]})

    _join(kit, bob, new)
    # The override (which Bob had not set for the new room) is copied ...
    wait_until(lambda: _rule(kit, bob, "override", new), what="the copied override")
    # ... but what he had set there is kept.
    assert _tags(kit, bob, new) == {"m.lowpriority": {}}
    room_rule = _rule(kit, bob, "room", new)
    assert room_rule is not None
    assert room_rule["actions"] == ["notify", {"set_tweak": "sound", "value": "default"}]

    # A later join event (a profile change) copies nothing over his changes either.
    _ok(kit, bob, "DELETE", f"{V3}/user/{_q(bob.user_id)}/rooms/{new}/tags/m.lowpriority")
    _ok(kit, bob, "DELETE", f"{RULES}/override/{_q(new)}")
    _ok(kit, bob, "PUT", f"{V3}/profile/{_q(bob.user_id)}/displayname",
        {"displayname": "Bob again"})
    _ok(kit, bob, "PUT", f"{V3}/rooms/{new}/send/m.room.message/t2",
        {"msgtype": "m.text", "body": "after"})
    assert _tags(kit, bob, new) == {}
    assert _rule(kit, bob, "override", new) is None


def test_space_children_are_copied_on_upgrade(kit: Kit) -> None:
    alice = kit.register_user()
    server = alice.user_id.split(":", 1)[1]
    space = create_room(kit, alice, room_version="10",
                        creation_content={"type": "m.space"})
    kept, removed = create_room(kit, alice), create_room(kit, alice)
    _ok(kit, alice, "PUT", f"{V3}/rooms/{space}/state/m.space.child/{kept}",
        {"via": [server], "order": "a"})
    _ok(kit, alice, "PUT", f"{V3}/rooms/{space}/state/m.space.child/{removed}", {})

    new = _upgrade(kit, alice, space)
    state = {(e["type"], e["state_key"]): e["content"]
             for e in _ok(kit, alice, "GET", f"{V3}/rooms/{new}/state")}
    assert state[("m.room.create", "")]["type"] == "m.space"
    assert state[("m.space.child", kept)] == {"via": [server], "order": "a"}
    assert ("m.space.child", removed) not in state
    hierarchy = _ok(kit, alice, "GET", f"/_matrix/client/v1/rooms/{new}/hierarchy")
    assert {r["room_id"] for r in hierarchy["rooms"]} == {new, kept}
