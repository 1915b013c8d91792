"""A push rule and a user's rule set: the shapes every other push rule module shares."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

#: Rule kinds in the order they are evaluated.
KINDS: Final = ("override", "content", "room", "sender", "underride")
#: Actions older spec versions had: stored and served back as set (Synapse does so, and
#: clients read their rules back), ignored when rules are evaluated.
HISTORICAL_ACTIONS: Final = frozenset({"dont_notify", "coalesce"})
#: The body-text mention rules (deprecated in v1.7, dropped from the spec's defaults in
#: v1.17). Kept for clients that do not send ``m.mentions`` yet; skipped for events that
#: have it, as the spec said while they were defined.
LEGACY_MENTION_RULES: Final = frozenset({
    ".m.rule.contains_display_name", ".m.rule.contains_user_name", ".m.rule.roomnotif",
})
MASTER_RULE: Final = ".m.rule.master"
#: Stand for the rule owner's user ID and localpart in the server-default rules, which are
#: kept in this shared form and filled in only where a user's own value is compared.
USER_PLACEHOLDER: Final = "\x00user\x00"
LOCALPART_PLACEHOLDER: Final = "\x00localpart\x00"

Action = str | dict[str, Any]


@dataclass(frozen=True)
class PushRule:
    kind: str
    rule_id: str
    actions: tuple[Action, ...]
    enabled: bool = True
    default: bool = False
    #: override/underride rules only.
    conditions: tuple[dict[str, Any], ...] | None = None
    #: content rules only.
    pattern: str | None = None

    @cached_property
    def split_conditions(self) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
        """The conditions whose result is the same for every user, and the others (the
        display name condition, and server-default conditions naming the owner), so that
        the first are evaluated once per event and the second once per group of users."""
        shared: list[dict[str, Any]] = []
        personal: list[dict[str, Any]] = []
        for condition in self.conditions or ():
            if condition.get("kind") == "contains_display_name" or \
                    (self.default and names_owner(condition)):
                personal.append(condition)
            else:
                shared.append(condition)
        return tuple(shared), tuple(personal)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "default": self.default,
            "enabled": self.enabled,
            "actions": list(self.actions),
        }
        if self.kind in ("override", "underride"):
            out["conditions"] = list(self.conditions or ())
        if self.kind == "content" and self.pattern is not None:
            out["pattern"] = self.pattern
        return out


def names_owner(value: Any) -> bool:
    """Whether a server-default rule's pattern or condition holds an owner placeholder."""
    if isinstance(value, str):
        return USER_PLACEHOLDER in value or LOCALPART_PLACEHOLDER in value
    if isinstance(value, dict):
        return any(names_owner(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(names_owner(v) for v in value)
    return False


@dataclass(frozen=True)
class DefaultRuleChange:
    """A user's change to a server-default rule (None: keep the default)."""

    enabled: bool | None = None
    actions: tuple[Action, ...] | None = None


@dataclass(frozen=True)
class Ruleset:
    """A user's complete rules per kind, each list in evaluation order."""

    by_kind: dict[str, list[PushRule]] = field(default_factory=dict)

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        return {kind: [r.to_json() for r in self.by_kind.get(kind, [])] for kind in KINDS}

    def in_order(self) -> Iterable[PushRule]:
        for kind in KINDS:
            yield from self.by_kind.get(kind, [])

    def find(self, kind: str, rule_id: str) -> PushRule | None:
        return next((r for r in self.by_kind.get(kind, []) if r.rule_id == rule_id), None)
