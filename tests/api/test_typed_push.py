"""The typed request models of the push rules API: a missing field is ``M_MISSING_PARAM``
naming it, a mistyped one ``M_BAD_JSON`` naming it, a value outside the spec's set
``M_INVALID_PARAM`` — and a body the decoder refuses changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit import Kit, User, assert_error

R = "/_matrix/client/v3/pushrules/global"


@pytest.fixture(scope="module")
def caller(kit: Kit) -> User:
    return kit.register_user()


def put(kit: Kit, user: User, path: str, body: Any) -> Any:
    return kit.request("PUT", f"{R}{path}", user.access_token, json=body)


@pytest.mark.parametrize(("path", "body", "errcode", "names"), [
    ("/override/t", {"conditions": []}, "M_MISSING_PARAM", "actions"),
    ("/override/t", {"actions": "notify"}, "M_BAD_JSON", "actions"),
    ("/override/t", {"actions": [42]}, "M_BAD_JSON", "actions[0]"),
    ("/override/t", {"actions": ["wiggle"]}, "M_INVALID_PARAM", "actions[0]"),
    ("/override/t", {"actions": [{"value": 1}]}, "M_MISSING_PARAM", "actions[0].set_tweak"),
    ("/override/t", {"actions": [{"set_tweak": 1}]}, "M_BAD_JSON", "actions[0].set_tweak"),
    ("/override/t", {"actions": [], "conditions": {"kind": "x"}}, "M_BAD_JSON",
     "conditions"),
    ("/override/t", {"actions": [], "conditions": ["x"]}, "M_BAD_JSON", "conditions[0]"),
    ("/content/t", {"actions": [], "pattern": 5}, "M_BAD_JSON", "pattern"),
    ("/underride/.m.rule.message/actions", {"actions": [{"set_tweak": "sound"}, 7]},
     "M_BAD_JSON", "actions[1]"),
    ("/underride/.m.rule.message/actions", {}, "M_MISSING_PARAM", "actions"),
    ("/override/.m.rule.master/enabled", {"enabled": "yes"}, "M_BAD_JSON", "enabled"),
    ("/override/.m.rule.master/enabled", {}, "M_MISSING_PARAM", "enabled"),
], ids=["no-actions", "actions-not-list", "action-number", "unknown-action",
        "tweak-without-name", "tweak-name-number", "conditions-not-list",
        "condition-not-object", "pattern-number", "set-actions-number", "set-no-actions",
        "enabled-string", "enabled-missing"])
def test_rule_bodies_name_the_field(kit: Kit, caller: User, path: str, body: Any,
                                    errcode: str, names: str) -> None:
    error = assert_error(put(kit, caller, path, body), 400, errcode)
    assert names in error["error"], error
    # Nothing changed.
    rules = kit.request("GET", f"{R}/", caller.access_token).json()
    assert [r["rule_id"] for r in rules["override"]][:2] == [".m.rule.master",
                                                             ".m.rule.suppress_notices"]
    assert rules["override"][0]["enabled"] is False
    assert [r["rule_id"] for r in rules["content"]] == [".m.rule.contains_user_name"]
    message = next(r for r in rules["underride"] if r["rule_id"] == ".m.rule.message")
    assert message["actions"] == ["notify"]


def test_tweaks_keep_their_value(kit: Kit) -> None:
    """A tweak's ``value`` is kept whatever its JSON type, and left out when not given."""
    user = kit.register_user()
    actions = ["notify", {"set_tweak": "highlight"}, {"set_tweak": "sound", "value": None},
               {"set_tweak": "x", "value": {"a": [1, "b"]}}]
    r = put(kit, user, "/override/tweaks", {"actions": [*actions, "coalesce"],
                                            "conditions": [{"kind": "org.example", "n": 1}]})
    assert r.status_code == 200, r.text
    rule = kit.request("GET", f"{R}/override/tweaks", user.access_token).json()
    assert rule["actions"] == [*actions, "coalesce"]
    assert rule["conditions"] == [{"kind": "org.example", "n": 1}]


def test_enabled_takes_a_bare_boolean(kit: Kit) -> None:
    user = kit.register_user()
    path = f"{R}/override/.m.rule.master/enabled"
    for value, expected in ((b"true", True), (b'{"enabled": false}', False)):
        r = kit.request("PUT", path, user.access_token, content=value,
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        assert kit.request("GET", path, user.access_token).json() == {"enabled": expected}
    for content in (b'"true"', b"1", b"null", b"[true]"):
        r = kit.request("PUT", path, user.access_token, content=content,
                        headers={"Content-Type": "application/json"})
        assert_error(r, 400, "M_BAD_JSON")
