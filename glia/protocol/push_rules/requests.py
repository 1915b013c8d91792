"""Validating the push rules clients send (``PUT /pushrules/...``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from glia import errors
from glia.protocol.push_rules.rules import KINDS, Action, PushRule


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise errors.invalid_param(f"Unknown push rule kind: {kind}")
    return kind


def check_new_rule_id(rule_id: str) -> str:
    """Rule IDs a client may create: no leading dot (server defaults), no slashes."""
    if rule_id.startswith("."):
        raise errors.invalid_param("Rule IDs starting with '.' are reserved for "
                                   "server-default rules")
    if "/" in rule_id or "\\" in rule_id:
        raise errors.invalid_param("Rule IDs may not contain slashes or backslashes")
    if not rule_id:
        raise errors.invalid_param("Rule ID may not be empty")
    return rule_id


def parse_conditions(value: Any) -> tuple[dict[str, Any], ...]:
    """Validate ``conditions``; unknown condition kinds are allowed (they never match)."""
    if not isinstance(value, list):
        raise errors.bad_json("conditions must be an array")
    for condition in value:
        if not isinstance(condition, dict):
            raise errors.bad_json("Each condition must be an object")
        if "kind" not in condition:
            raise errors.missing_param("Condition without 'kind'")
        if not isinstance(condition["kind"], str):
            raise errors.bad_json("Condition 'kind' must be a string")
    return tuple(value)


def rule_from_request(kind: str, rule_id: str, actions: Sequence[Action],
                      conditions: Sequence[Any] | None, pattern: str | None) -> PushRule:
    """The rule a ``PUT /pushrules/global/{kind}/{ruleId}`` body describes (its actions
    already of the spec's shapes; historical ones are kept as sent, as Synapse keeps them,
    and ignored when the rule is evaluated)."""
    rule_conditions: tuple[dict[str, Any], ...] | None = None
    if kind in ("override", "underride"):
        rule_conditions = parse_conditions(list(conditions or ()))
    elif kind == "content":
        if pattern is None:
            raise errors.missing_param("Content rule missing 'pattern'")
    else:
        pattern = None
    return PushRule(kind, rule_id, tuple(actions), True, False,
                    rule_conditions, pattern)
