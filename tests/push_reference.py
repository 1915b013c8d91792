"""The per-member push rule evaluator Glia had before it evaluated rules per group of
members: kept here, self-contained, as the oracle the grouped evaluator must agree with.

One user at a time: their personalised rule set, each rule's conditions in order, and the
display name found with a regular expression built for that name. The one deliberate
difference: Python's case-insensitive ``[A-Za-z0-9_]`` also matches four non-ASCII
letters (İ ı ſ and the Kelvin sign), which the spec's word boundary does not; inputs
for the comparison leave them out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from glia.protocol.push_rules import (
    LEGACY_MENTION_RULES,
    EventFacts,
    PushRule,
    Ruleset,
    condition_matches,
    glob_match,
)

#: Characters whose role as word characters differs (see the module docstring).
NOT_COMPARED = frozenset("\u0130\u0131\u017f\u212a")


def display_name_in_body(display_name: Any, body: str) -> bool:
    if not isinstance(display_name, str) or not display_name.strip():
        return False
    escaped = re.escape(display_name)
    return re.search(rf"(?<![A-Za-z0-9_]){escaped}(?![A-Za-z0-9_])", body,
                     re.IGNORECASE) is not None


def _body(event: Mapping[str, Any]) -> Any:
    content = event.get("content")
    return content.get("body") if isinstance(content, Mapping) else None


def _condition(condition: Mapping[str, Any], facts: EventFacts, display_name: Any) -> bool:
    if condition.get("kind") == "contains_display_name":
        body = _body(facts.event)
        return isinstance(body, str) and display_name_in_body(display_name, body)
    return condition_matches(condition, EventFacts(facts.event, facts.member_count,
                                                   facts.power))


def _rule_matches(rule: PushRule, facts: EventFacts, display_name: Any) -> bool:
    event = facts.event
    if rule.kind == "content":
        body = _body(event)
        return isinstance(body, str) and isinstance(rule.pattern, str) and \
            glob_match(rule.pattern, body, word_boundary=True)
    if rule.kind == "room":
        return event.get("room_id") == rule.rule_id
    if rule.kind == "sender":
        return event.get("sender") == rule.rule_id
    return all(_condition(c, facts, display_name) for c in rule.conditions or ())


def reference_evaluate(ruleset: Ruleset, facts: EventFacts, display_name: Any
                       ) -> PushRule | None:
    """The first enabled rule of a personalised rule set that matches, one user."""
    content = facts.event.get("content")
    skip_legacy = isinstance(content, Mapping) and "m.mentions" in content
    for rule in ruleset.in_order():
        if not rule.enabled:
            continue
        if skip_legacy and rule.default and rule.rule_id in LEGACY_MENTION_RULES:
            continue
        if _rule_matches(rule, facts, display_name):
            return rule
    return None
