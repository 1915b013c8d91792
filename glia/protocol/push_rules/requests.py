"""Validating the push rules clients send (``PUT /pushrules/...``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.protocol.push_rules.rules import HISTORICAL_ACTIONS, KINDS, Action, PushRule


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


def parse_actions(value: Any) -> tuple[Action, ...]:
    """Validate a client's ``actions`` array; historical actions are dropped."""
    if not isinstance(value, list):
        raise errors.bad_json("actions must be an array")
    out: list[Action] = []
    for action in value:
        if isinstance(action, str):
            if action in HISTORICAL_ACTIONS:
                continue
            if action != "notify":
                raise errors.invalid_param(f"Unrecognised action: {action}")
            out.append(action)
        elif isinstance(action, dict):
            if not isinstance(action.get("set_tweak"), str):
                raise errors.invalid_param("An action object must have a string 'set_tweak'")
            out.append(action)
        else:
            raise errors.bad_json("Each action must be a string or an object")
    return tuple(out)


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


def rule_from_request(kind: str, rule_id: str, body: Mapping[str, Any]) -> PushRule:
    """The rule a ``PUT /pushrules/global/{kind}/{ruleId}`` body describes."""
    if "actions" not in body:
        raise errors.missing_param("Missing 'actions'")
    actions = parse_actions(body["actions"])
    conditions: tuple[dict[str, Any], ...] | None = None
    pattern: str | None = None
    if kind in ("override", "underride"):
        conditions = parse_conditions(body.get("conditions", []))
    elif kind == "content":
        if "pattern" not in body:
            raise errors.missing_param("Content rule missing 'pattern'")
        if not isinstance(body["pattern"], str):
            raise errors.bad_json("pattern must be a string")
        pattern = body["pattern"]
    return PushRule(kind, rule_id, actions, True, False, conditions, pattern)
