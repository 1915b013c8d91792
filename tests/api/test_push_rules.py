"""The push rules API over real HTTP: the server-default rule set, user rules and their
order (``before``/``after``), enabled switches and actions of user and default rules,
Synapse's errors, and rules changing what notifies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.kit import Kit, User, assert_error, create_room, send_event
from tests.server import GliaProcess

C = "/_matrix/client/v3"
R = f"{C}/pushrules/global"


def _q(value: str) -> str:
    return quote(value, safe="")


def _get(kit: Kit, user: User, path: str) -> Any:
    r = kit.request("GET", path, user.access_token)
    assert r.status_code == 200, r.text
    return r.json()


def _put(kit: Kit, user: User, path: str, body: Any, **params: str) -> Any:
    return kit.request("PUT", path, user.access_token, json=body, params=params)


def _ids(kit: Kit, user: User, kind: str) -> list[str]:
    return [r["rule_id"] for r in _get(kit, user, f"{C}/pushrules/")["global"][kind]]


def test_defaults(kit: Kit) -> None:
    user = kit.register_user()
    body = _get(kit, user, f"{C}/pushrules/")
    assert set(body) == {"global"}
    rules = body["global"]
    assert set(rules) == {"override", "content", "room", "sender", "underride"}
    assert rules["room"] == [] and rules["sender"] == []
    master = rules["override"][0]
    assert master == {"rule_id": ".m.rule.master", "default": True, "enabled": False,
                      "actions": [], "conditions": []}
    override = {r["rule_id"]: r for r in rules["override"]}
    assert {".m.rule.suppress_notices", ".m.rule.invite_for_me", ".m.rule.member_event",
            ".m.rule.is_user_mention", ".m.rule.is_room_mention", ".m.rule.tombstone",
            ".m.rule.reaction", ".m.rule.room.server_acl",
            ".m.rule.suppress_edits"} <= set(override)
    # Defaults are personalised for their owner.
    mention = override[".m.rule.is_user_mention"]["conditions"][0]
    assert mention["value"] == user.user_id
    invite = override[".m.rule.invite_for_me"]["conditions"]
    assert {"kind": "event_match", "key": "state_key", "pattern": user.user_id} in invite
    content = rules["content"][0]
    assert content["rule_id"] == ".m.rule.contains_user_name"
    assert content["pattern"] == user.user_id[1:].split(":")[0]
    assert "conditions" not in content
    assert [r["rule_id"] for r in rules["underride"]] == [
        ".m.rule.call", ".m.rule.encrypted_room_one_to_one", ".m.rule.room_one_to_one",
        ".m.rule.message", ".m.rule.encrypted"]
    for kind_rules in rules.values():
        for rule in kind_rules:
            assert rule["default"] is True
    # The same rule set under /pushrules/global/ and per kind (Synapse's list form).
    assert _get(kit, user, f"{R}/") == rules
    assert _get(kit, user, f"{R}/underride/") == rules["underride"]
    assert _get(kit, user, f"{R}/override/.m.rule.master") == master


def test_unauthenticated(kit: Kit) -> None:
    assert_error(kit.request("GET", f"{C}/pushrules/"), 401, "M_MISSING_TOKEN")
    assert_error(kit.request("PUT", f"{R}/room/x", json={"actions": []}), 401,
                 "M_MISSING_TOKEN")


def test_create_get_and_order(kit: Kit) -> None:
    user = kit.register_user()
    r = _put(kit, user, f"{R}/content/nocake", {"pattern": "cake*lie", "actions": ["notify"]})
    assert r.status_code == 200 and r.json() == {}, r.text
    assert _get(kit, user, f"{R}/content/nocake") == {
        "rule_id": "nocake", "default": False, "enabled": True, "actions": ["notify"],
        "pattern": "cake*lie"}
    # A new rule without before/after is the most important of its kind, ahead of the
    # server-default rules of that kind.
    assert _put(kit, user, f"{R}/content/b", {"pattern": "b", "actions": []}).status_code == 200
    assert _ids(kit, user, "content") == ["b", "nocake", ".m.rule.contains_user_name"]
    assert _put(kit, user, f"{R}/content/c", {"pattern": "c", "actions": []},
                after="nocake").status_code == 200
    assert _put(kit, user, f"{R}/content/d", {"pattern": "d", "actions": []},
                before="nocake").status_code == 200
    assert _ids(kit, user, "content") == ["b", "d", "nocake", "c",
                                          ".m.rule.contains_user_name"]
    # Moving an existing rule.
    assert _put(kit, user, f"{R}/content/b", {"pattern": "b", "actions": []},
                after="c").status_code == 200
    assert _ids(kit, user, "content") == ["d", "nocake", "c", "b",
                                          ".m.rule.contains_user_name"]
    # An update without before/after keeps its place and its enabled switch.
    r = _put(kit, user, f"{R}/content/nocake/enabled", {"enabled": False})
    assert r.status_code == 200, r.text
    r = _put(kit, user, f"{R}/content/nocake", {"pattern": "pie", "actions": ["notify"]})
    assert r.status_code == 200, r.text
    assert _ids(kit, user, "content") == ["d", "nocake", "c", "b",
                                          ".m.rule.contains_user_name"]
    assert _get(kit, user, f"{R}/content/nocake") == {
        "rule_id": "nocake", "default": False, "enabled": False, "actions": ["notify"],
        "pattern": "pie"}
    # Override rules: the master rule stays first, user rules come before the others.
    r = _put(kit, user, f"{R}/override/mine", {
        "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.room.topic"}],
        "actions": ["notify", {"set_tweak": "sound", "value": "bing"}, "dont_notify"]})
    assert r.status_code == 200, r.text
    assert _ids(kit, user, "override")[:3] == [".m.rule.master", "mine",
                                               ".m.rule.suppress_notices"]
    # Historical actions are kept as set (and ignored when the rule is evaluated).
    assert _get(kit, user, f"{R}/override/mine/actions") == {
        "actions": ["notify", {"set_tweak": "sound", "value": "bing"}, "dont_notify"]}
    # Room and sender rules take their ID from the path.
    room_rule = f"{R}/room/{_q('!somewhere:localhost')}"
    assert _put(kit, user, room_rule, {"actions": []}).status_code == 200
    assert _get(kit, user, room_rule) == {
        "rule_id": "!somewhere:localhost", "default": False, "enabled": True, "actions": []}
    # Other users see none of it.
    other = kit.register_user()
    assert _ids(kit, other, "content") == [".m.rule.contains_user_name"]
    assert_error(kit.request("GET", f"{R}/content/nocake", other.access_token), 404,
                 "M_NOT_FOUND")


def test_put_errors(kit: Kit) -> None:
    user = kit.register_user()
    assert_error(_put(kit, user, f"{R}/content/x", {"pattern": "x", "actions": []},
                      before="missing"), 400, "M_UNKNOWN")
    assert_error(_put(kit, user, f"{R}/content/x", {"pattern": "x", "actions": []},
                      after="missing"), 400, "M_UNKNOWN")
    # Relative to a server-default rule is not possible either.
    assert_error(_put(kit, user, f"{R}/content/x", {"pattern": "x", "actions": []},
                      before=".m.rule.contains_user_name"), 400, "M_UNKNOWN")
    # Rule IDs starting with a dot are the server's; a default rule cannot be replaced.
    body = {"conditions": [], "actions": ["notify"]}
    assert_error(_put(kit, user, f"{R}/override/.m.rule.master", body), 400, "M_UNKNOWN")
    assert_error(_put(kit, user, f"{R}/override/.mine", body), 400, "M_UNKNOWN")
    assert_error(_put(kit, user, f"{R}/override/{_q('a/b')}", body), 400, "M_UNKNOWN")
    assert_error(_put(kit, user, f"{R}/nokind/x", body), 400, "M_UNKNOWN")
    assert_error(_put(kit, user, f"{R}/override/x", {"conditions": []}), 400,
                 "M_MISSING_PARAM")
    assert_error(_put(kit, user, f"{R}/content/x", {"actions": []}), 400, "M_MISSING_PARAM")
    assert _put(kit, user, f"{R}/override/x", {"actions": ["wiggle"]}).status_code == 400
    assert _put(kit, user, f"{R}/override/x", {"actions": "notify"}).status_code == 400
    assert _put(kit, user, f"{R}/override/x", {"actions": [], "conditions": [{}]}
                ).status_code == 400
    assert_error(kit.request("PUT", f"{R}/override/x", user.access_token, content=b"nope"),
                 400, "M_NOT_JSON")
    # Nothing was created.
    assert _ids(kit, user, "override")[1] == ".m.rule.suppress_notices"
    assert_error(kit.request("GET", f"{R}/nokind/x", user.access_token), 400,
                 "M_UNRECOGNIZED")
    assert_error(kit.request("GET", f"{R}/nokind/", user.access_token), 400,
                 "M_UNRECOGNIZED")
    assert_error(kit.request("GET", f"{R}/override/nothing", user.access_token), 404,
                 "M_NOT_FOUND")


def test_delete(kit: Kit) -> None:
    user = kit.register_user()
    sender_rule = f"{R}/sender/{_q('@spammer:localhost')}"
    assert _put(kit, user, sender_rule, {"actions": []}).status_code == 200
    r = kit.request("DELETE", sender_rule, user.access_token)
    assert r.status_code == 200 and r.json() == {}, r.text
    assert_error(kit.request("GET", sender_rule, user.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("DELETE", sender_rule, user.access_token), 404, "M_NOT_FOUND")
    # Server-default rules cannot be deleted (Synapse answers 404, as for a missing rule).
    assert_error(kit.request("DELETE", f"{R}/override/.m.rule.master", user.access_token),
                 404, "M_NOT_FOUND")
    assert ".m.rule.master" in _ids(kit, user, "override")
    assert_error(kit.request("DELETE", f"{R}/nokind/x", user.access_token), 404,
                 "M_NOT_FOUND")


def test_enabled(kit: Kit) -> None:
    user = kit.register_user()
    master = f"{R}/override/.m.rule.master/enabled"
    assert _get(kit, user, master) == {"enabled": False}
    assert _put(kit, user, master, {"enabled": True}).status_code == 200
    assert _get(kit, user, master) == {"enabled": True}
    assert _get(kit, user, f"{R}/override/.m.rule.master")["enabled"] is True
    # A bare boolean, as some older clients send.
    assert _put(kit, user, master, False).status_code == 200
    assert _get(kit, user, master) == {"enabled": False}
    assert _put(kit, user, f"{R}/room/{_q('!r:localhost')}", {"actions": []}).status_code == 200
    room_enabled = f"{R}/room/{_q('!r:localhost')}/enabled"
    assert _put(kit, user, room_enabled, {"enabled": False}).status_code == 200
    assert _get(kit, user, room_enabled) == {"enabled": False}
    assert_error(_put(kit, user, room_enabled, {"enabled": "no"}), 400, "M_BAD_JSON")
    assert_error(_put(kit, user, room_enabled, {}), 400, "M_MISSING_PARAM")
    assert_error(_put(kit, user, f"{R}/room/nothing/enabled", {"enabled": True}), 404,
                 "M_NOT_FOUND")
    # A dotted ID that is not a default rule of that kind does not exist.
    assert_error(_put(kit, user, f"{R}/underride/.m.rule.master/enabled", {"enabled": True}),
                 404, "M_NOT_FOUND")
    assert_error(_put(kit, user, f"{R}/nokind/x/enabled", {"enabled": True}), 400,
                 "M_UNKNOWN")
    assert_error(kit.request("GET", f"{R}/room/nothing/enabled", user.access_token), 404,
                 "M_NOT_FOUND")


def test_actions(kit: Kit) -> None:
    user = kit.register_user()
    message = f"{R}/underride/.m.rule.message/actions"
    assert _get(kit, user, message) == {"actions": ["notify"]}
    new = ["notify", {"set_tweak": "sound", "value": "default"}]
    assert _put(kit, user, message, {"actions": new}).status_code == 200
    assert _get(kit, user, message) == {"actions": new}
    rule = _get(kit, user, f"{R}/underride/.m.rule.message")
    assert rule["actions"] == new and rule["default"] is True and rule["enabled"] is True
    # Changing actions keeps the enabled switch, and the other way round.
    assert _put(kit, user, f"{R}/underride/.m.rule.message/enabled",
                {"enabled": False}).status_code == 200
    rule = _get(kit, user, f"{R}/underride/.m.rule.message")
    assert rule["actions"] == new and rule["enabled"] is False
    assert_error(_put(kit, user, message, {}), 400, "M_MISSING_PARAM")
    assert _put(kit, user, message, {"actions": [42]}).status_code == 400
    assert_error(_put(kit, user, f"{R}/underride/nothing/actions", {"actions": []}), 404,
                 "M_NOT_FOUND")
    assert _get(kit, user, message) == {"actions": new}


def _notifications(kit: Kit, user: User) -> list[dict[str, Any]]:
    return list(_get(kit, user, f"{C}/notifications")["notifications"])


def _joined_pair(kit: Kit) -> tuple[User, User, str]:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    r = kit.request("POST", f"{C}/rooms/{_q(room_id)}/join", bob.access_token, json={})
    assert r.status_code == 200, r.text
    return alice, bob, room_id


def test_rules_decide_what_notifies(kit: Kit) -> None:
    alice, bob, room_id = _joined_pair(kit)
    send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "one"})
    assert len(_notifications(kit, bob)) == 1
    # A room rule without actions mutes the room.
    assert _put(kit, bob, f"{R}/room/{_q(room_id)}", {"actions": []}).status_code == 200
    send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "two"})
    assert len(_notifications(kit, bob)) == 1
    # A content rule ahead of it highlights a keyword.
    r = _put(kit, bob, f"{R}/content/cake",
             {"pattern": "cake", "actions": ["notify", {"set_tweak": "highlight"}]})
    assert r.status_code == 200
    send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "There is CAKE here"})
    notes = _notifications(kit, bob)
    assert len(notes) == 2
    assert notes[0]["actions"] == ["notify", {"set_tweak": "highlight"}]
    assert notes[0]["event"]["content"]["body"] == "There is CAKE here"
    # Disabling the room rule lets ordinary messages through again.
    assert _put(kit, bob, f"{R}/room/{_q(room_id)}/enabled",
                {"enabled": False}).status_code == 200
    send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "three"})
    assert len(_notifications(kit, bob)) == 3
    # The master rule silences everything.
    assert _put(kit, bob, f"{R}/override/.m.rule.master/enabled",
                {"enabled": True}).status_code == 200
    send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "cake"})
    assert len(_notifications(kit, bob)) == 3
    # A sender rule (with the master off again).
    assert _put(kit, bob, f"{R}/override/.m.rule.master/enabled",
                {"enabled": False}).status_code == 200
    assert _put(kit, bob, f"{R}/sender/{_q(alice.user_id)}", {"actions": []}).status_code == 200
    send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "four"})
    assert len(_notifications(kit, bob)) == 3


def test_bad_bodies(kit: Kit) -> None:
    user = kit.register_user()
    deep = b'{"actions": [{"set_tweak": "x", "value": ' + b"[" * 900 + b"]" * 900 + b"}]}"
    deepest = b'{"actions": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for path in (f"{R}/override/deep", f"{R}/underride/.m.rule.message/actions"):
        for content in (deep, deepest):
            r = kit.request("PUT", path, user.access_token, content=content,
                            headers={"Content-Type": "application/json"})
            assert_error(r, 400, "M_BAD_JSON")
        for content in (b"NaN", b"{", b""):
            r = kit.request("PUT", path, user.access_token, content=content,
                            headers={"Content-Type": "application/json"})
            assert_error(r, 400, "M_NOT_JSON")
        for content in (b"[]", b"42", b"null", b'"x"'):
            r = kit.request("PUT", path, user.access_token, content=content,
                            headers={"Content-Type": "application/json"})
            assert_error(r, 400, "M_BAD_JSON")
    r = kit.request("PUT", f"{R}/override/deep", user.access_token,
                    content=b'{"actions": [], "conditions": [{"kind": "x", "v": ' +
                    b"[" * 900 + b"]" * 900 + b"}]}",
                    headers={"Content-Type": "application/json"})
    assert_error(r, 400, "M_BAD_JSON")
    enabled = f"{R}/override/.m.rule.master/enabled"
    for content in (b"[]", b"42", b"null", b'{"enabled": null}', b"[" * 100_000):
        r = kit.request("PUT", enabled, user.access_token, content=content,
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
    # Rules a little nested are fine, and still evaluated when events arrive.
    nested = {"actions": ["notify", {"set_tweak": "x", "value": {"a": [[1, [2]]]}}],
              "conditions": [{"kind": "event_property_is", "key": "content.n",
                              "value": 1}]}
    assert _put(kit, user, f"{R}/override/nested", nested).status_code == 200
    other = kit.register_user()
    room_id = create_room(kit, other, preset="public_chat")
    r = kit.request("POST", f"{C}/rooms/{_q(room_id)}/join", user.access_token, json={})
    assert r.status_code == 200, r.text
    send_event(kit, other, room_id, {"msgtype": "m.text", "body": "x", "n": 1})
    [note] = _notifications(kit, user)
    assert note["actions"] == nested["actions"]


def test_rule_changes_reach_other_processes(db_kind: str,
                                           new_database_url: Callable[[], str]) -> None:
    """Two Glia processes on one database: rules changed through one are used at once by
    the other's event writer (its rule cache is checked against the database)."""
    if db_kind != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    url = new_database_url()
    first = GliaProcess(url).start()
    second = GliaProcess(url).start()
    kit_a, kit_b = Kit(first.url), Kit(second.url)
    try:
        alice, bob, room_id = _joined_pair(kit_a)
        send_event(kit_b, alice, room_id, {"msgtype": "m.text", "body": "warm up"})
        assert len(_notifications(kit_a, bob)) == 1
        assert _put(kit_a, bob, f"{R}/room/{_q(room_id)}", {"actions": []}).status_code == 200
        send_event(kit_b, alice, room_id, {"msgtype": "m.text", "body": "muted"})
        assert len(_notifications(kit_a, bob)) == 1
        assert _put(kit_a, bob, f"{R}/room/{_q(room_id)}/enabled",
                    {"enabled": False}).status_code == 200
        send_event(kit_b, alice, room_id, {"msgtype": "m.text", "body": "heard"})
        assert len(_notifications(kit_a, bob)) == 2
    finally:
        kit_a.close()
        kit_b.close()
        first.stop()
        second.stop()
    for server in (first, second):
        assert "Traceback" not in server.log(), server.log()[-3000:]
