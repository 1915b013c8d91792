"""Push rules evaluated for a whole group of members at once agree, member by member,
with the per-member evaluator (tests/push_reference.py), on random rooms and messages:
display names with regular-expression characters, unicode, names inside other words,
mentions, and members with their own rules."""

from __future__ import annotations

import random
from typing import Any

import pytest

from glia.protocol.push_rules import (
    DEFAULT_TEMPLATE,
    DefaultRuleChange,
    EventFacts,
    NameIndex,
    PowerFacts,
    PushRule,
    build_ruleset,
    build_template,
    effective_actions,
    evaluate_members,
    notifies,
)
from glia.protocol.push_rules.words import display_names_in, fold, literals_in, word_pieces
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS
from tests.push_reference import NOT_COMPARED, display_name_in_body, reference_evaluate

ROOM = "!room:example.org"
V11 = KNOWN_ROOM_VERSIONS["11"]

NAMES = [
    "Alice", "al", "ali", "a.b*", "(x)", "[y]", "c++", "\\d+", "$1", "^_^", "Zoë", "zoe",
    "ΣΊΣΥΦΟΣ", "σίσυφος", "Łukasz", "日本", "Mary Ann", "mary", "Ann", "  ", "", "bob_",
    "_bob", "ǅemal", "ǆemal", "Straße", "STRASSE", "ΐ", "ΐ", "µ", "μ", "ﬅ", "ﬆ", "x-y",
    "-lead", "trail-", "O'Brien", "ab", "abc", "b", "123", "a\nb",
]
WORDS = ["hello", "alice", "Alicea", "xalice", "a.bb", "a.b*", "ab*", "(x)y", "c++!",
         "mary ann", "MARY ANN", "zoë", "ZOË", "日本語", "lunch", "LUNCH!", "example",
         "exemple", "@room", "@ROOM", "u7", "u12", "strasse", "ΐ", "_", "-", ",", " ",
         "\n", "Σίσυφος", "ǆemal", "ﬆ", "µ", "bob_", "_bob_", "O'Brien's", "123", "x-y-z"]


def custom_rules(rng: random.Random, user_id: str
                 ) -> tuple[list[PushRule], dict[tuple[str, str], DefaultRuleChange]]:
    """A random few of: a keyword rule, a room rule, a sender rule, an override on the
    display name, disabled or changed server-default rules."""
    rules: list[PushRule] = []
    changes: dict[tuple[str, str], DefaultRuleChange] = {}
    notify_hl = ("notify", {"set_tweak": "highlight"})
    if rng.random() < 0.5:
        rules.append(PushRule("content", "kw", notify_hl, pattern=rng.choice(
            ["lunch", "ex*ple", "a.b*", "zoë", "mary ann", "?"])))
    if rng.random() < 0.3:
        rules.append(PushRule("room", ROOM, rng.choice([(), ("notify",)])))
    if rng.random() < 0.2:
        rules.append(PushRule("sender", "@u3:example.org", ("notify",)))
    if rng.random() < 0.2:
        rules.append(PushRule("override", "mine", ("notify",), conditions=(
            {"kind": "contains_display_name"},
            {"kind": "event_match", "key": "content.msgtype", "pattern": "m.text"})))
    if rng.random() < 0.2:
        rules.append(PushRule("underride", "everything", ("notify",), conditions=()))
    for kind, rule_id in [("override", ".m.rule.contains_display_name"),
                          ("underride", ".m.rule.message"),
                          ("override", ".m.rule.is_user_mention"),
                          ("content", ".m.rule.contains_user_name"),
                          ("override", ".m.rule.master")]:
        roll = rng.random()
        if roll < 0.1:
            changes[(kind, rule_id)] = DefaultRuleChange(enabled=rule_id == ".m.rule.master")
        elif roll < 0.15:
            changes[(kind, rule_id)] = DefaultRuleChange(actions=("notify",))
    del user_id
    return rules, changes


def random_event(rng: random.Random, users: list[str], names: dict[str, Any]
                 ) -> dict[str, Any]:
    pieces = rng.choices(WORDS + [n for n in names.values() if isinstance(n, str)] +
                         [u.split(":")[0][1:] for u in users[:20]], k=rng.randint(0, 8))
    body = "".join(p + rng.choice(["", " ", ".", ", ", "!", "_", "-", "é"]) for p in pieces)
    kind = rng.random()
    sender = rng.choice(users)
    if kind < 0.08:
        invited = rng.choice(users)
        return {"type": "m.room.member", "state_key": invited, "sender": sender,
                "room_id": ROOM, "content": {"membership": "invite"}}
    if kind < 0.12:
        return {"type": rng.choice(["m.reaction", "m.room.encrypted", "m.call.invite"]),
                "sender": sender, "room_id": ROOM, "content": {}}
    content: dict[str, Any] = {"msgtype": rng.choice(["m.text"] * 5 + ["m.notice"]),
                               "body": body if rng.random() < 0.95 else 7}
    if rng.random() < 0.4:
        mentions: dict[str, Any] = {"user_ids": rng.sample(users, rng.randint(0, 5)) +
                                    rng.choice([[], [7, None, True]])}
        if rng.random() < 0.3:
            mentions["room"] = True
        content["m.mentions"] = mentions
    return {"type": "m.room.message", "sender": sender, "room_id": ROOM, "content": content}


@pytest.mark.parametrize("seed", range(3))
def test_grouped_evaluation_agrees_with_the_per_member_evaluator(seed: int) -> None:
    rng = random.Random(seed)
    users = [f"@u{i}:example.org" for i in range(300)] + ["@al:example.org",
                                                         "@a.b:example.org"]
    names: dict[str, Any] = {u: rng.choice([*NAMES, None]) for u in users}
    own = {u: custom_rules(rng, u) if rng.random() < 0.2 else ([], {}) for u in users}
    personal = {u: build_ruleset(u, *own[u]) for u in users}
    groups: dict[str, list[str]] = {}
    for u in users:
        groups.setdefault(repr(own[u]), []).append(u)
    templates = {key: build_template(*own[members[0]]) for key, members in groups.items()}
    for _ in range(30):
        event = random_event(rng, users, names)
        count = rng.choice([2, 302])
        power = PowerFacts(rng.choice([0, 50, 100]), {"notifications": {"room": 50}}, V11)
        facts = EventFacts(event, count, power)
        got: dict[str, PushRule] = {}
        indexed: dict[str, PushRule] = {}
        index = NameIndex(names)
        for key, members in groups.items():
            got.update(evaluate_members(templates[key], facts, members, names))
            indexed.update(evaluate_members(templates[key], facts, members, index))
        assert indexed == got
        for u in users:
            want = reference_evaluate(personal[u], facts, names[u])
            mine = got.get(u)
            assert (mine and (mine.kind, mine.rule_id, mine.actions)) == \
                (want and (want.kind, want.rule_id, want.actions)), (u, names[u], event)


@pytest.mark.parametrize("seed", range(8))
def test_display_names_are_found_as_the_regular_expression_finds_them(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = [c for c in "aAbBzZ éÉßẞσςΣ日_-.*+()[]\\$^ 0'\n\u0345ιΙ\u1fbeﬅﬆΐΐ"
                if c not in NOT_COMPARED]
    for _ in range(200):
        names = {"".join(rng.choices(alphabet, k=rng.randint(0, 3))) for _ in range(8)}
        body = "".join(rng.choices(alphabet + list(names), k=rng.randint(0, 12)))
        assert display_names_in(body, names) == \
            {n for n in names if display_name_in_body(n, body)}, (body, names)


def test_display_names_whole_words_only() -> None:
    body = "Hi Alicea, xal and A.B* met (x) at c++; ZOË too. Mary  Ann"
    found = display_names_in(body, ["Alice", "al", "a.b*", "(x)", "c++", "Zoë", "Mary Ann",
                                    "ann", "a.b", "   "])
    assert found == {"a.b*", "a.b", "(x)", "c++", "Zoë", "ann"}


def test_many_names_in_a_long_body_use_either_search() -> None:
    names = [f"name{i}" for i in range(3000)]
    short = "hey name17 and name2999!"
    long = ("filler " * 5000) + "name42"
    assert display_names_in(short, names) == {"name17", "name2999"}
    assert display_names_in(long, [*names[:10], "name42"]) == {"name42"}
    assert display_names_in(long, names) == {"name42"}


def test_localparts_follow_the_glob_word_boundary() -> None:
    # Like glob_match: a boundary is a non-word character on either side.
    assert literals_in("x@room and bob.", ["@room", "bob", "ob", "and bob"]) == \
        {"@room", "bob", "and bob"}


@pytest.mark.parametrize("seed", range(6))
def test_localparts_looked_up_among_the_body_pieces_are_those_found_one_by_one(
        seed: int) -> None:
    """A big room's localparts are looked up among the body's pieces (one pass over the
    body) instead of each searched for: both must find the same."""
    rng = random.Random(seed)
    alphabet = list("abAB019._=-/+ \n\té,!@:ß")
    for _ in range(300):
        parts = {"".join(rng.choices("aAb1._=-/+éİ", k=rng.randint(1, 4)))
                 for _ in range(10)}
        body = "".join(rng.choices(alphabet + list(parts), k=rng.randint(0, 15)))
        pieces = word_pieces(body, max(len(p.lower()) for p in parts), 10_000)
        assert pieces is not None
        assert {p for p in parts if p.lower() in pieces} == literals_in(body, parts), \
            (body, parts)


def test_a_body_of_many_short_words_is_searched_per_localpart_instead() -> None:
    assert word_pieces("a." * 5000, 20, 400) is None
    pieces = word_pieces("Hi Bob.Smith!", 9, 400)
    assert pieces is not None
    assert {"hi", "bob", "bob.smith", "smith", ".smith!"} <= pieces
    assert not {"hi bob", "bob.smith!", "ob", "Bob"} & pieces


def test_fold_keeps_positions() -> None:
    text = "İstanbul ſtraße ΣΊΣΥΦΟΣ"
    assert len(fold(text)) == len(text)
    assert fold("ſ") == fold("s") and fold("ı") == fold("I") and fold("µ") == fold("Μ")


@pytest.mark.parametrize("membership", ["join", "leave", "ban", "invite", "knock"])
@pytest.mark.parametrize("msgtype", [None, "m.notice", "m.text"])
def test_member_events_notify_nobody_with_the_defaults_but_the_invitee(
        membership: str, msgtype: str | None) -> None:
    """What push evaluation relies on to skip reading a big room's members for a member
    event when nobody there has rules of their own: with the bare defaults, such an event
    notifies nobody but the invitee of an invite, whatever the member count or body."""
    target = "@target:example.org"
    content: dict[str, Any] = {"membership": membership, "body": "target @room alice",
                               "displayname": "alice"}
    if msgtype is not None:
        content["msgtype"] = msgtype
    event = {"type": "m.room.member", "state_key": target, "sender": "@s:example.org",
             "room_id": ROOM, "event_id": "$m", "content": content,
             "m.mentions": {"room": True}}
    users = [target, "@alice:example.org", "@bob:example.org"]
    for count in (2, 3, 1000):
        facts = EventFacts(event, count, PowerFacts(100, None, V11))
        winners = evaluate_members(DEFAULT_TEMPLATE, facts, users,
                                   {u: "alice" for u in users})
        notified = {u for u, rule in winners.items()
                    if notifies(effective_actions(rule.actions))}
        expect = {target} if membership == "invite" and msgtype != "m.notice" else set()
        assert notified == expect
