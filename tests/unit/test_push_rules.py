"""The push rule evaluator against the spec's server-default rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from glia.errors import MatrixError
from glia.protocol.push_rules import (
    KINDS,
    UNKNOWN,
    DefaultRuleChange,
    EventFacts,
    MissingFact,
    PowerFacts,
    PushRule,
    Ruleset,
    build_ruleset,
    check_new_rule_id,
    evaluate,
    glob_match,
    highlights,
    lookup,
    notifies,
    rule_from_request,
    split_key,
    tweaks,
)
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS

ALICE = "@alice:example.org"
V11 = KNOWN_ROOM_VERSIONS["11"]


def message(body: Any = "hello", sender: str = "@bob:example.org", **content: Any
            ) -> dict[str, Any]:
    return {"type": "m.room.message", "sender": sender, "room_id": "!r:example.org",
            "content": {"msgtype": "m.text", "body": body, **content}}


def power(sender_level: float = 0, room: int | None = None) -> PowerFacts:
    content = {} if room is None else {"notifications": {"room": room}}
    return PowerFacts(sender_level, content, V11)


def run(event: dict[str, Any], *, members: int = 3, display_name: Any = "Alice",
        sender_level: float = 0, rules: Sequence[PushRule] | None = None,
        changes: dict[tuple[str, str], DefaultRuleChange] | None = None) -> PushRule | None:
    ruleset = build_ruleset(ALICE, rules or [], changes or {})
    facts = EventFacts(event, members, power(sender_level))
    return evaluate(ruleset, facts, ALICE, display_name)


def rule_id(event: dict[str, Any], **kwargs: Any) -> str | None:
    rule = run(event, **kwargs)
    return None if rule is None else rule.rule_id


def test_default_ruleset_order_and_shape() -> None:
    ruleset = build_ruleset(ALICE, [], {}).to_json()
    assert list(ruleset) == list(KINDS)
    assert [r["rule_id"] for r in ruleset["override"]] == [
        ".m.rule.master", ".m.rule.suppress_notices", ".m.rule.invite_for_me",
        ".m.rule.member_event", ".m.rule.is_user_mention", ".m.rule.contains_display_name",
        ".m.rule.is_room_mention", ".m.rule.roomnotif", ".m.rule.tombstone",
        ".m.rule.reaction", ".m.rule.room.server_acl", ".m.rule.suppress_edits",
    ]
    assert [r["rule_id"] for r in ruleset["underride"]] == [
        ".m.rule.call", ".m.rule.encrypted_room_one_to_one", ".m.rule.room_one_to_one",
        ".m.rule.message", ".m.rule.encrypted",
    ]
    assert ruleset["room"] == [] and ruleset["sender"] == []
    assert ruleset["content"] == [{
        "rule_id": ".m.rule.contains_user_name", "default": True, "enabled": True,
        "pattern": "alice",
        "actions": ["notify", {"set_tweak": "sound", "value": "default"},
                    {"set_tweak": "highlight"}],
    }]
    master = ruleset["override"][0]
    assert master == {"rule_id": ".m.rule.master", "default": True, "enabled": False,
                      "conditions": [], "actions": []}
    invite = ruleset["override"][2]
    assert {"kind": "event_match", "key": "state_key", "pattern": ALICE} in invite["conditions"]
    mention = ruleset["override"][4]
    assert mention["conditions"] == [{"kind": "event_property_contains",
                                      "key": "content.m\\.mentions.user_ids", "value": ALICE}]


def test_plain_message_notifies_without_highlight() -> None:
    rule = run(message("good morning"))
    assert rule is not None and rule.rule_id == ".m.rule.message"
    assert notifies(rule.actions) and not highlights(rule.actions)


def test_one_to_one_room_gets_sound() -> None:
    rule = run(message("hi"), members=2)
    assert rule is not None and rule.rule_id == ".m.rule.room_one_to_one"
    assert tweaks(rule.actions) == {"sound": "default"}
    assert rule_id({"type": "m.room.encrypted", "sender": "@b:x", "content": {}},
                   members=2) == ".m.rule.encrypted_room_one_to_one"
    assert rule_id({"type": "m.room.encrypted", "sender": "@b:x", "content": {}},
                   members=3) == ".m.rule.encrypted"


def test_notices_are_suppressed() -> None:
    rule = run(message("beep", msgtype="m.notice"))
    assert rule is not None and rule.rule_id == ".m.rule.suppress_notices"
    assert not notifies(rule.actions)


def test_user_mention_highlights() -> None:
    event = message("hey you", **{"m.mentions": {"user_ids": [ALICE]}})
    rule = run(event)
    assert rule is not None and rule.rule_id == ".m.rule.is_user_mention"
    assert highlights(rule.actions) and tweaks(rule.actions)["sound"] == "default"
    other = message("hey", **{"m.mentions": {"user_ids": ["@carol:example.org"]}})
    assert rule_id(other) == ".m.rule.message"


def test_display_name_mention_only_without_m_mentions() -> None:
    assert rule_id(message("ping Alice!")) == ".m.rule.contains_display_name"
    assert rule_id(message("ALICE: lunch?")) == ".m.rule.contains_display_name"
    assert rule_id(message("Alicette is here")) == ".m.rule.message"
    # With m.mentions the legacy body rules are skipped.
    assert rule_id(message("ping Alice!", **{"m.mentions": {}})) == ".m.rule.message"


def test_user_name_content_rule() -> None:
    assert rule_id(message("is alice around?"), display_name=None) == \
        ".m.rule.contains_user_name"
    assert rule_id(message("malice"), display_name=None) == ".m.rule.message"


def test_display_name_is_asked_for_lazily() -> None:
    ruleset = build_ruleset(ALICE, [], {})
    with pytest.raises(MissingFact) as e:
        evaluate(ruleset, EventFacts(message("hi"), 3, power()), ALICE, UNKNOWN)
    assert e.value.fact == "display_name"
    # Events with m.mentions never need it.
    event = message("hi", **{"m.mentions": {}})
    rule = evaluate(ruleset, EventFacts(event, 3, power()), ALICE, UNKNOWN)
    assert rule is not None and rule.rule_id == ".m.rule.message"


def test_room_mention_needs_power() -> None:
    event = message("everyone!", **{"m.mentions": {"room": True}})
    assert rule_id(event, sender_level=50) == ".m.rule.is_room_mention"
    assert rule_id(event, sender_level=0) == ".m.rule.message"
    legacy = message("@room hello")
    assert rule_id(legacy, sender_level=100) == ".m.rule.roomnotif"
    assert rule_id(legacy, sender_level=10, display_name=None) == ".m.rule.message"
    ruleset = build_ruleset(ALICE, [], {})
    with pytest.raises(MissingFact) as e:
        evaluate(ruleset, EventFacts(event, 3), ALICE, None)
    assert e.value.fact == "power_levels"
    lowered = EventFacts(event, 3, PowerFacts(10, {"notifications": {"room": 10}}, V11))
    rule = evaluate(ruleset, lowered, ALICE, None)
    assert rule is not None and rule.rule_id == ".m.rule.is_room_mention"


def test_invite_for_me_member_events_tombstone_reaction_edits() -> None:
    invite = {"type": "m.room.member", "sender": "@bob:x", "state_key": ALICE,
              "content": {"membership": "invite"}}
    assert rule_id(invite) == ".m.rule.invite_for_me"
    invite_other = dict(invite, state_key="@carol:x")
    assert rule_id(invite_other) == ".m.rule.member_event"
    tombstone = {"type": "m.room.tombstone", "sender": "@bob:x", "state_key": "",
                 "content": {"body": "moved", "replacement_room": "!n:x"}}
    rule = run(tombstone, display_name=None)
    assert rule is not None and rule.rule_id == ".m.rule.tombstone" and highlights(rule.actions)
    not_state = {"type": "m.room.tombstone", "sender": "@bob:x", "content": {}}
    assert rule_id(not_state) is None
    reaction = {"type": "m.reaction", "sender": "@b:x", "content": {}}
    assert rule_id(reaction) == ".m.rule.reaction"
    acl = {"type": "m.room.server_acl", "sender": "@b:x", "state_key": "", "content": {}}
    assert rule_id(acl) == ".m.rule.room.server_acl"
    edit = message("* fixed", **{"m.relates_to": {"rel_type": "m.replace", "event_id": "$e"},
                                 "m.mentions": {}})
    assert rule_id(edit) == ".m.rule.suppress_edits"
    call = {"type": "m.call.invite", "sender": "@b:x", "content": {}}
    rule = run(call)
    assert rule is not None and tweaks(rule.actions) == {"sound": "ring"}
    assert rule_id({"type": "m.room.topic", "sender": "@b:x", "state_key": "",
                    "content": {"topic": "x"}}) is None


def test_master_rule_silences_everything() -> None:
    changes = {("override", ".m.rule.master"): DefaultRuleChange(enabled=True)}
    rule = run(message("Alice!"), changes=changes)
    assert rule is not None and rule.rule_id == ".m.rule.master" and not notifies(rule.actions)
    # ...even before the user's own override rules.
    own = PushRule("override", "loud", ("notify",), conditions=())
    assert rule_id(message("x"), changes=changes, rules=[own]) == ".m.rule.master"


def test_disabled_and_changed_default_rules() -> None:
    off = {("underride", ".m.rule.message"): DefaultRuleChange(enabled=False)}
    assert rule_id(message("x"), changes=off) is None
    loud = {("underride", ".m.rule.message"):
            DefaultRuleChange(actions=("notify", {"set_tweak": "highlight"}))}
    rule = run(message("x"), changes=loud)
    assert rule is not None and highlights(rule.actions)


def test_user_rules_come_before_defaults_in_each_kind() -> None:
    mute_room = PushRule("room", "!r:example.org", ())
    assert rule_id(message("x"), rules=[mute_room]) == "!r:example.org"
    mute_bob = PushRule("sender", "@bob:example.org", ())
    assert rule_id(message("x"), rules=[mute_bob]) == "@bob:example.org"
    cake = PushRule("content", "cake", ("notify",), pattern="cake*lie")
    assert rule_id(message("the cake is a lie"), rules=[cake]) == "cake"
    # Override rules beat the default override rules (but not the master rule).
    loud_notices = PushRule("override", "n", ("notify",),
                            conditions=({"kind": "event_match", "key": "content.msgtype",
                                         "pattern": "m.notice"},))
    assert rule_id(message("x", msgtype="m.notice"), rules=[loud_notices]) == "n"


def test_unknown_conditions_never_match() -> None:
    odd = PushRule("override", "odd", ("notify",),
                   conditions=({"kind": "org.example.future"},))
    assert rule_id(message("x", **{"m.mentions": {}}), rules=[odd]) == ".m.rule.message"
    broken = PushRule("override", "b", ("notify",),
                      conditions=({"kind": "event_match", "key": "type"},))
    assert rule_id(message("x", **{"m.mentions": {}}), rules=[broken]) == ".m.rule.message"


@pytest.mark.parametrize(("pattern", "value", "matches"), [
    ("lunc?*", "Lunch plans", True),
    ("lunc?*", "LUNCH", True),
    ("lunc?*", " lunch", False),
    ("lunc?*", "lunc", False),
    ("m.notice", "m.notice", True),
    ("m.notice", "m_notice", False),
    ("", "", True),
    ("", "x", False),
    ("*", "", True),
    ("a*b*c", "aXXbYYc", True),
    ("a*b*c", "aXXbYY", False),
    ("[ab]", "[ab]", True),
    ("a.c", "abc", False),
])
def test_glob_whole_value(pattern: str, value: str, matches: bool) -> None:
    assert glob_match(pattern, value) is matches


@pytest.mark.parametrize(("pattern", "body", "matches"), [
    ("ex*ple", "An example event.", True),
    ("ex*ple", "exple", True),
    ("ex*ple", "An exciting triple-whammy", True),
    ("ex*ple", "examples", False),
    ("cake", "I like cake.", True),
    ("cake", "pancakes", False),
    ("cake", "cake_shop", False),
    ("@room", "hello @room!", True),
    ("@room", "@roomy", False),
    ("tea", "It's time for TEA", True),
])
def test_glob_body_word_boundaries(pattern: str, body: str, matches: bool) -> None:
    assert glob_match(pattern, body, word_boundary=True) is matches


def test_glob_is_linear_on_hostile_patterns() -> None:
    # A backtracking regex takes ages here; the NFA answers at once.
    assert not glob_match("a*a*a*a*a*a*a*a*b", "a" * 20000)
    assert not glob_match("*a*a*a*a*a*a*a*b", "a" * 20000, word_boundary=True)


def test_dotted_paths_with_escapes() -> None:
    assert split_key("content.body") == ["content", "body"]
    assert split_key("content.m\\.relates_to.rel_type") == ["content", "m.relates_to",
                                                             "rel_type"]
    assert split_key("content.m\\\\foo") == ["content", "m\\foo"]
    assert split_key("content.a\\xb") == ["content", "a\\xb"]
    event = {"content": {"m.federate": True, "m\\foo": 1, "a": {"b": "c"}}}
    assert lookup(event, "content.m\\.federate") is True
    assert lookup(event, "content.m\\\\foo") == 1
    assert lookup(event, "content.a.b") == "c"


def test_event_property_is_and_contains_are_exact() -> None:
    def matches(kind: str, key: str, value: Any, event: dict[str, Any]) -> bool:
        rule = PushRule("override", "t", ("notify",),
                        conditions=({"kind": kind, "key": key, "value": value},))
        got = run(event, rules=[rule])
        return got is not None and got.rule_id == "t"

    create = {"type": "m.room.create", "sender": "@b:x", "state_key": "",
              "content": {"m.federate": True, "n": 1, "alt": ["#a:x", 1, None, True]}}
    assert matches("event_property_is", "content.m\\.federate", True, create)
    assert not matches("event_property_is", "content.m\\.federate", "true", create)
    assert not matches("event_property_is", "content.m\\.federate", 1, create)
    assert not matches("event_property_is", "content.n", True, create)
    assert matches("event_property_is", "content.n", 1, create)
    assert not matches("event_property_is", "content.missing", None, create)
    assert matches("event_property_contains", "content.alt", "#a:x", create)
    assert matches("event_property_contains", "content.alt", None, create)
    assert matches("event_property_contains", "content.alt", 1, create)
    assert not matches("event_property_contains", "content.alt", ":x", create)
    assert not matches("event_property_contains", "content.n", 1, create)


@pytest.mark.parametrize(("spec", "count", "matches"), [
    ("2", 2, True), ("==2", 3, False), ("<10", 9, True), ("<10", 10, False),
    ("<=10", 10, True), (">2", 3, True), (">=3", 2, False), ("two", 2, False),
    ("=2", 2, False),
])
def test_room_member_count(spec: str, count: int, matches: bool) -> None:
    rule = PushRule("override", "t", ("notify",),
                    conditions=({"kind": "room_member_count", "is": spec},))
    got = run(message("x", **{"m.mentions": {}}), members=count, rules=[rule])
    assert (got is not None and got.rule_id == "t") is matches


def test_request_validation() -> None:
    with pytest.raises(MatrixError) as e:
        check_new_rule_id(".m.rule.mine")
    assert e.value.errcode == "M_INVALID_PARAM"
    with pytest.raises(MatrixError):
        check_new_rule_id("a/b")
    with pytest.raises(MatrixError) as e:
        rule_from_request("content", "c", [], None, None)
    assert e.value.errcode == "M_MISSING_PARAM"
    with pytest.raises(MatrixError) as e:
        rule_from_request("override", "o", [], [{}], None)
    assert e.value.errcode == "M_MISSING_PARAM"
    rule = rule_from_request("override", "o", ["notify"], None, None)
    assert rule.conditions == () and rule.enabled and not rule.default
    # Historical actions are kept as sent; a room rule keeps no pattern or conditions.
    rule = rule_from_request("room", "!r:x", ["notify", "dont_notify", "coalesce",
                                              {"set_tweak": "sound"}], [{"kind": "x"}], "p")
    assert rule.actions == ("notify", "dont_notify", "coalesce", {"set_tweak": "sound"})
    assert rule.conditions is None and rule.pattern is None


def test_ruleset_find() -> None:
    ruleset: Ruleset = build_ruleset(ALICE, [], {})
    found = ruleset.find("underride", ".m.rule.message")
    assert found is not None and found.default
    assert ruleset.find("room", ".m.rule.message") is None


def test_literal_patterns_match_like_the_automaton() -> None:
    """The literal fast path of glob_match agrees with the automaton on every input."""
    import random

    from glia.protocol.glob import _glob_automaton

    rng = random.Random(7)
    alphabet = "ab @._-Zé"
    for _ in range(4000):
        pattern = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        for word_boundary in (False, True):
            assert glob_match(pattern, value, word_boundary=word_boundary) is \
                _glob_automaton(pattern, value, word_boundary), (pattern, value, word_boundary)
