"""Evaluating a rule set against an event for many users at once, and reading the
winning rule's actions.

The users of one call share a rule set (usually a template from ``build_template``:
most members of a room have the bare server defaults). Each rule is evaluated once for
the users still undecided: conditions about the event alone once per event (and
memoised across groups), the others once per group — the display names and localparts
of all the group's users are looked for in the body in one pass (``words``), the
mentioned user IDs are one set. Nothing is done per user but the bookkeeping.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from glia.protocol.glob import glob_match
from glia.protocol.push_rules.conditions import (
    UNKNOWN,
    EventFacts,
    MissingFact,
    condition_matches,
    lookup,
)
from glia.protocol.push_rules.defaults import personalise
from glia.protocol.push_rules.rules import (
    HISTORICAL_ACTIONS,
    LEGACY_MENTION_RULES,
    LOCALPART_PLACEHOLDER,
    USER_PLACEHOLDER,
    Action,
    PushRule,
    Ruleset,
    names_owner,
)
from glia.protocol.push_rules.words import (
    NameIndex,
    display_names_in,
    literals_in,
    word_pieces,
)

_SPACE = re.compile(r"\s")


def evaluate(ruleset: Ruleset, facts: EventFacts, user_id: str,
             display_name: Any = UNKNOWN) -> PushRule | None:
    """The first enabled rule that matches the event for ``user_id``, or None.

    Raises :class:`MissingFact` if a rule needs a fact that is still :data:`UNKNOWN`.
    """
    names = None if display_name is UNKNOWN else {user_id: display_name}
    return evaluate_members(ruleset, facts, [user_id], names).get(user_id)


def evaluate_members(ruleset: Ruleset, facts: EventFacts, user_ids: Collection[str],
                     display_names: Mapping[str, Any] | NameIndex | None = None
                     ) -> dict[str, PushRule]:
    """The first enabled rule that matches the event for each of ``user_ids``, who all
    have ``ruleset``; users no rule matches are left out.

    ``display_names`` (by user; a non-string is no name; or a :class:`NameIndex` of
    them, kept between events) is None until loaded: a rule that needs them then raises
    :class:`MissingFact`, as does one that needs the power levels while ``facts.power``
    is :data:`UNKNOWN`.
    """
    undecided = set(user_ids)
    out: dict[str, PushRule] = {}
    skip_legacy = facts.has_mentions
    for rule in ruleset.in_order():
        if not undecided:
            break
        if not rule.enabled:
            continue
        if skip_legacy and rule.default and rule.rule_id in LEGACY_MENTION_RULES:
            continue
        matched = _matching(rule, facts, undecided, display_names)
        for user_id in matched:
            out[user_id] = rule
        undecided -= matched
    return out


def _matching(rule: PushRule, facts: EventFacts, users: set[str],
              names: Mapping[str, Any] | NameIndex | None) -> set[str]:
    """Which of ``users`` the rule matches the event for."""
    event = facts.event
    if rule.kind == "content":
        body = _body(event)
        if body is None or not isinstance(rule.pattern, str):
            return set()
        if rule.default and names_owner(rule.pattern):
            return _body_pattern_matches(rule.pattern, body, users)
        key = ("content", rule.pattern)
        hit = facts.memo.get(key)
        if hit is None:
            hit = facts.memo[key] = glob_match(rule.pattern, body, word_boundary=True)
        return set(users) if hit else set()
    if rule.kind == "room":
        return set(users) if event.get("room_id") == rule.rule_id else set()
    if rule.kind == "sender":
        return set(users) if event.get("sender") == rule.rule_id else set()
    shared, personal = rule.split_conditions
    if not all(condition_matches(c, facts) for c in shared):
        return set()
    matched = set(users)
    for condition in personal:
        if not matched:
            break
        matched = _personal_matches(condition, facts, matched, names)
    return matched


def _personal_matches(condition: Mapping[str, Any], facts: EventFacts, users: set[str],
                      names: Mapping[str, Any] | NameIndex | None) -> set[str]:
    """Which of ``users`` a condition that depends on the user holds for."""
    event = facts.event
    kind, key = condition.get("kind"), condition.get("key")
    if kind == "contains_display_name":
        body = _body(event)
        if body is None:
            return set()
        if names is None:
            raise MissingFact("display_name")
        if isinstance(names, NameIndex):
            return names.users_in(body) & users
        by_name: dict[str, list[str]] = {}
        for user_id in users:
            name = names.get(user_id)
            if isinstance(name, str):
                by_name.setdefault(name, []).append(user_id)
        return {u for name in display_names_in(body, by_name) for u in by_name[name]}
    if kind == "event_property_contains" and condition.get("value") == USER_PLACEHOLDER \
            and isinstance(key, str):
        # The mentioned user IDs (only strings equal a user ID).
        value = lookup(event, key)
        if not isinstance(value, list):
            return set()
        return users & {v for v in value if isinstance(v, str)}
    pattern = condition.get("pattern")
    if kind == "event_match" and key == "content.body" and isinstance(pattern, str):
        body = _body(event)
        return set() if body is None else _body_pattern_matches(pattern, body, users)
    return {u for u in users if condition_matches(personalise(condition, u), facts)}


def _body_pattern_matches(pattern: str, body: str, users: Collection[str]) -> set[str]:
    """Which users' own form of a ``content.body`` glob pattern (their localpart, say)
    matches the body at word boundaries."""
    if pattern == LOCALPART_PLACEHOLDER:
        found = _localparts_in(body, users)
        if found is not None:
            return found
    mine = {u: personalise(pattern, u) for u in users}
    literal = {u: p for u, p in mine.items() if "*" not in p and "?" not in p}
    found = literals_in(body, set(literal.values()))
    return {u for u, p in literal.items() if p in found} | {
        u for u, p in mine.items()
        if u not in literal and glob_match(p, body, word_boundary=True)}


def _localparts_in(body: str, users: Collection[str]) -> set[str] | None:
    """The users whose localpart occurs in the body as :func:`literals_in` finds it,
    each a look-up among the body's :func:`word_pieces`; None (look for each) if a
    localpart is empty, a wildcard pattern or holds white space, which no valid user
    ID's is, or if the body has more such pieces than there are users."""
    # localpart(), inline: a function call per member is most of the cost here.
    parts = {u: u.removeprefix("@").partition(":")[0].lower() for u in users}
    every = "".join(parts.values())
    lengths = list(map(len, parts.values()))
    if not parts or min(lengths) == 0 or "*" in every or "?" in every or \
            _SPACE.search(every):
        return None
    pieces = word_pieces(body, max(lengths), 4 * len(parts))
    if pieces is None:
        return None
    return {u for u, part in parts.items() if part in pieces}


def _body(event: Mapping[str, Any]) -> str | None:
    content = event.get("content")
    body = content.get("body") if isinstance(content, Mapping) else None
    return body if isinstance(body, str) else None


def effective_actions(actions: Iterable[Action]) -> list[Action]:
    """Actions without the historical ones."""
    return [a for a in actions if not (isinstance(a, str) and a in HISTORICAL_ACTIONS)]


def notifies(actions: Iterable[Action]) -> bool:
    return "notify" in list(actions)


def tweaks(actions: Iterable[Action]) -> dict[str, Any]:
    """The ``set_tweak`` actions as a dict (``highlight`` with no value is true)."""
    out: dict[str, Any] = {}
    for action in actions:
        if isinstance(action, dict) and isinstance(action.get("set_tweak"), str):
            name = action["set_tweak"]
            out[name] = action.get("value", True) if name == "highlight" \
                else action.get("value")
    return out


def highlights(actions: Iterable[Action]) -> bool:
    return tweaks(actions).get("highlight") is True
