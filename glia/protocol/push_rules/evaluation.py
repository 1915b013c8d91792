"""Evaluating a user's rule set against an event, and reading the winning rule's
actions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from glia.protocol.glob import glob_match
from glia.protocol.push_rules.conditions import UNKNOWN, EventFacts, condition_matches
from glia.protocol.push_rules.rules import (
    HISTORICAL_ACTIONS,
    LEGACY_MENTION_RULES,
    Action,
    PushRule,
    Ruleset,
)


def rule_matches(rule: PushRule, facts: EventFacts, user_id: str,
                 display_name: Any = UNKNOWN) -> bool:
    event = facts.event
    if rule.kind == "content":
        content = event.get("content")
        body = content.get("body") if isinstance(content, Mapping) else None
        if not isinstance(body, str) or not isinstance(rule.pattern, str):
            return False
        key = ("content", rule.pattern)
        hit = facts.memo.get(key)
        if hit is None:
            hit = facts.memo[key] = glob_match(rule.pattern, body, word_boundary=True)
        return hit
    if rule.kind == "room":
        return event.get("room_id") == rule.rule_id
    if rule.kind == "sender":
        return event.get("sender") == rule.rule_id
    shared = rule.shared_key
    if shared is not None:
        hit = facts.memo.get(shared)
        if hit is None:
            hit = facts.memo[shared] = all(
                condition_matches(c, facts, display_name) for c in rule.conditions or ())
        return hit
    return all(condition_matches(c, facts, display_name) for c in rule.conditions or ())


def evaluate(ruleset: Ruleset, facts: EventFacts, user_id: str,
             display_name: Any = UNKNOWN) -> PushRule | None:
    """The first enabled rule that matches the event for ``user_id``, or None.

    Raises :class:`MissingFact` if a rule needs a fact that is still :data:`UNKNOWN`.
    """
    skip_legacy = facts.has_mentions
    for rule in ruleset.in_order():
        if not rule.enabled:
            continue
        if skip_legacy and rule.default and rule.rule_id in LEGACY_MENTION_RULES:
            continue
        if rule_matches(rule, facts, user_id, display_name):
            return rule
    return None


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
