"""Push rules: the server-default rule set, rule validation, and the evaluator.

Pure logic (no I/O). The service hands in a user's own rules and their changes to the
server-default rules; this module merges them into the spec's order and decides which
rule's actions apply to an event. Facts that cost a database read (the user's display
name in the room, the power levels) are asked for lazily: the evaluator raises
:class:`MissingFact` the first time a rule needs one, so the caller loads it only for
the events that really need it and evaluates again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any, Final

from glia import errors
from glia.ids import InvalidId, parse_user_id
from glia.protocol.glob import glob_match
from glia.protocol.power_levels import notification_level
from glia.protocol.room_versions import RoomVersion

#: Rule kinds in the order they are evaluated.
KINDS: Final = ("override", "content", "room", "sender", "underride")
#: Actions older spec versions had; they are ignored (stripped) everywhere.
HISTORICAL_ACTIONS: Final = frozenset({"dont_notify", "coalesce"})
#: The body-text mention rules (deprecated in v1.7, dropped from the spec's defaults in
#: v1.17). Kept for clients that do not send ``m.mentions`` yet; skipped for events that
#: have it, as the spec said while they were defined.
LEGACY_MENTION_RULES: Final = frozenset({
    ".m.rule.contains_display_name", ".m.rule.contains_user_name", ".m.rule.roomnotif",
})
MASTER_RULE: Final = ".m.rule.master"

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
    def shared_key(self) -> tuple[Any, ...] | None:
        """For a rule whose every condition reads only the event (not the user), a key
        under which its result is shared by every member for one event; else None."""
        if self.kind not in ("override", "underride") or self.conditions is None:
            return None
        keys = []
        for condition in self.conditions:
            key = _condition_key(condition)
            if key is None:
                return None
            keys.append(key)
        return ("rule", tuple(keys))

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


@dataclass(frozen=True)
class DefaultRuleChange:
    """A user's change to a server-default rule (None: keep the default)."""

    enabled: bool | None = None
    actions: tuple[Action, ...] | None = None


# -- the server-default rules ---------------------------------------------------------

_SOUND_DEFAULT: Final = {"set_tweak": "sound", "value": "default"}
_HIGHLIGHT: Final = {"set_tweak": "highlight"}
_USER: Final = "\x00user\x00"        # placeholder for the rule owner's user ID
_LOCALPART: Final = "\x00localpart\x00"


def _match(key: str, pattern: str) -> dict[str, Any]:
    return {"kind": "event_match", "key": key, "pattern": pattern}


def _rule(kind: str, rule_id: str, conditions: list[dict[str, Any]] | None,
          actions: list[Action], *, enabled: bool = True,
          pattern: str | None = None) -> PushRule:
    return PushRule(kind, rule_id, tuple(actions), enabled, True,
                    None if conditions is None else tuple(conditions), pattern)


_DEFAULT_OVERRIDE: Final = (
    _rule("override", MASTER_RULE, [], [], enabled=False),
    _rule("override", ".m.rule.suppress_notices", [_match("content.msgtype", "m.notice")], []),
    _rule("override", ".m.rule.invite_for_me", [
        _match("type", "m.room.member"), _match("content.membership", "invite"),
        _match("state_key", _USER),
    ], ["notify", _SOUND_DEFAULT]),
    _rule("override", ".m.rule.member_event", [_match("type", "m.room.member")], []),
    _rule("override", ".m.rule.is_user_mention", [
        {"kind": "event_property_contains", "key": "content.m\\.mentions.user_ids",
         "value": _USER},
    ], ["notify", _SOUND_DEFAULT, _HIGHLIGHT]),
    _rule("override", ".m.rule.contains_display_name", [{"kind": "contains_display_name"}],
          ["notify", _SOUND_DEFAULT, _HIGHLIGHT]),
    _rule("override", ".m.rule.is_room_mention", [
        {"kind": "event_property_is", "key": "content.m\\.mentions.room", "value": True},
        {"kind": "sender_notification_permission", "key": "room"},
    ], ["notify", _HIGHLIGHT]),
    _rule("override", ".m.rule.roomnotif", [
        _match("content.body", "@room"),
        {"kind": "sender_notification_permission", "key": "room"},
    ], ["notify", _HIGHLIGHT]),
    _rule("override", ".m.rule.tombstone", [
        _match("type", "m.room.tombstone"), _match("state_key", ""),
    ], ["notify", _HIGHLIGHT]),
    _rule("override", ".m.rule.reaction", [_match("type", "m.reaction")], []),
    _rule("override", ".m.rule.room.server_acl", [
        _match("type", "m.room.server_acl"), _match("state_key", ""),
    ], []),
    _rule("override", ".m.rule.suppress_edits", [
        {"kind": "event_property_is", "key": "content.m\\.relates_to.rel_type",
         "value": "m.replace"},
    ], []),
)
_DEFAULT_CONTENT: Final = (
    _rule("content", ".m.rule.contains_user_name", None,
          ["notify", _SOUND_DEFAULT, _HIGHLIGHT], pattern=_LOCALPART),
)
_DEFAULT_UNDERRIDE: Final = (
    _rule("underride", ".m.rule.call", [_match("type", "m.call.invite")],
          ["notify", {"set_tweak": "sound", "value": "ring"}]),
    _rule("underride", ".m.rule.encrypted_room_one_to_one", [
        {"kind": "room_member_count", "is": "2"}, _match("type", "m.room.encrypted"),
    ], ["notify", _SOUND_DEFAULT]),
    _rule("underride", ".m.rule.room_one_to_one", [
        {"kind": "room_member_count", "is": "2"}, _match("type", "m.room.message"),
    ], ["notify", _SOUND_DEFAULT]),
    _rule("underride", ".m.rule.message", [_match("type", "m.room.message")], ["notify"]),
    _rule("underride", ".m.rule.encrypted", [_match("type", "m.room.encrypted")], ["notify"]),
)
_DEFAULTS: Final[dict[str, tuple[PushRule, ...]]] = {
    "override": _DEFAULT_OVERRIDE, "content": _DEFAULT_CONTENT, "room": (), "sender": (),
    "underride": _DEFAULT_UNDERRIDE,
}
DEFAULT_RULE_IDS: Final[dict[str, frozenset[str]]] = {
    kind: frozenset(r.rule_id for r in rules) for kind, rules in _DEFAULTS.items()
}


def _personalise(value: Any, user_id: str, localpart: str) -> Any:
    if isinstance(value, str):
        return value.replace(_USER, user_id).replace(_LOCALPART, localpart)
    if isinstance(value, dict):
        return {k: _personalise(v, user_id, localpart) for k, v in value.items()}
    return value


def _localpart(user_id: str) -> str:
    try:
        return parse_user_id(user_id).localpart
    except InvalidId:
        return user_id.removeprefix("@").split(":", 1)[0]


def default_rules(user_id: str, kind: str) -> list[PushRule]:
    """The server-default rules of one kind, filled in for ``user_id``."""
    localpart = _localpart(user_id)
    out = []
    for rule in _DEFAULTS[kind]:
        if rule.conditions is not None:
            rule = replace(rule, conditions=tuple(
                _personalise(c, user_id, localpart) for c in rule.conditions))
        if rule.pattern is not None:
            rule = replace(rule, pattern=_personalise(rule.pattern, user_id, localpart))
        out.append(rule)
    return out


def is_default_rule(kind: str, rule_id: str) -> bool:
    return rule_id in DEFAULT_RULE_IDS.get(kind, frozenset())


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


def build_ruleset(user_id: str, user_rules: Sequence[PushRule],
                  changes: Mapping[tuple[str, str], DefaultRuleChange]) -> Ruleset:
    """Merge the server defaults (with the user's changes) and the user's own rules.

    ``user_rules`` must be ordered most important first within each kind. The master
    rule comes before everything; other server-default rules come after the user's own
    rules of the same kind.
    """
    by_kind: dict[str, list[PushRule]] = {}
    for kind in KINDS:
        defaults = []
        for rule in default_rules(user_id, kind):
            change = changes.get((kind, rule.rule_id))
            if change is not None:
                if change.enabled is not None:
                    rule = replace(rule, enabled=change.enabled)
                if change.actions is not None:
                    rule = replace(rule, actions=change.actions)
            defaults.append(rule)
        own = [r for r in user_rules if r.kind == kind]
        first = [r for r in defaults if r.rule_id == MASTER_RULE]
        rest = [r for r in defaults if r.rule_id != MASTER_RULE]
        by_kind[kind] = first + own + rest
    return Ruleset(by_kind)


# -- validating what clients send -----------------------------------------------------

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


# -- evaluation ------------------------------------------------------------------------

class MissingFact(Exception):
    """The evaluator needs a fact the caller did not load yet (``display_name`` or
    ``power_levels``); load it and evaluate again."""

    def __init__(self, fact: str) -> None:
        super().__init__(fact)
        self.fact = fact


#: Marks a fact as not loaded yet.
UNKNOWN: Final = object()


@dataclass(frozen=True)
class PowerFacts:
    sender_level: float
    power_levels: Mapping[str, Any] | None
    room_version: RoomVersion


@dataclass(frozen=True)
class EventFacts:
    """What the evaluator knows about the event and its room, the same for every user."""

    event: Mapping[str, Any]
    member_count: int
    #: :data:`UNKNOWN` until loaded.
    power: PowerFacts | object = UNKNOWN
    #: Results of conditions that do not depend on the user, computed once per event for
    #: every member (they mostly share the default rules).
    memo: dict[Any, bool] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_mentions(self) -> bool:
        content = self.event.get("content")
        return isinstance(content, Mapping) and "m.mentions" in content


def split_key(key: str) -> list[str]:
    """A dot-separated property path, with ``\\.`` a literal dot and ``\\\\`` a backslash
    (other escapes are left as they are)."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(key):
        ch = key[i]
        if ch == "\\" and i + 1 < len(key) and key[i + 1] in ".\\":
            current.append(key[i + 1])
            i += 2
            continue
        if ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


_MISSING: Final = object()


def lookup(event: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted path, or a private sentinel when absent."""
    value: Any = event
    for part in _split_cached(key):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


@lru_cache(maxsize=1024)
def _split_cached(key: str) -> tuple[str, ...]:
    return tuple(split_key(key))


# Glob matching: a bit-parallel NFA over the pattern (``*`` any run, ``?`` one char), so
# matching is linear in the text whatever the pattern — a regex with several ``*`` could
# backtrack for seconds on a long body, on the path that writes every event.

def _same_value(a: Any, b: Any) -> bool:
    """Exact equality of non-compound canonical JSON values (no bool/int mixing)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return False


_MEMBER_COUNT = re.compile(r"(==|<=|>=|<|>)?([0-9]+)")


def _member_count_matches(spec: Any, count: int) -> bool:
    if not isinstance(spec, str):
        return False
    m = _MEMBER_COUNT.fullmatch(spec)
    if m is None:
        return False
    op, number = m.group(1) or "==", int(m.group(2))
    return {
        "==": count == number, "<": count < number, ">": count > number,
        "<=": count <= number, ">=": count >= number,
    }[op]


def _display_name_in_body(display_name: Any, body: str) -> bool:
    if not isinstance(display_name, str) or not display_name.strip():
        return False
    escaped = re.escape(display_name)
    return re.search(rf"(?<![A-Za-z0-9_]){escaped}(?![A-Za-z0-9_])", body,
                     re.IGNORECASE) is not None


#: Condition kinds whose result is the same for every user (memoised per event).
_SHARED_KINDS = frozenset({"event_match", "event_property_is", "event_property_contains",
                           "room_member_count", "sender_notification_permission"})


def _condition_key(condition: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """A hashable key for a condition whose result is the same for every user."""
    if condition.get("kind") not in _SHARED_KINDS:
        return None
    key = tuple(sorted(condition.items()))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def condition_matches(condition: Mapping[str, Any], facts: EventFacts,
                      display_name: Any = UNKNOWN) -> bool:
    """Whether one condition holds (unknown or malformed conditions never do)."""
    key = _condition_key(condition)
    if key is not None:
        hit = facts.memo.get(key)
        if hit is None:
            hit = facts.memo[key] = _condition_matches(condition, facts, display_name)
        return hit
    return _condition_matches(condition, facts, display_name)


def _condition_matches(condition: Mapping[str, Any], facts: EventFacts,
                       display_name: Any) -> bool:
    kind = condition.get("kind")
    event = facts.event
    if kind == "event_match":
        key, pattern = condition.get("key"), condition.get("pattern")
        if not isinstance(key, str) or not isinstance(pattern, str):
            return False
        value = lookup(event, key)
        if not isinstance(value, str):
            return False
        return glob_match(pattern, value, word_boundary=key == "content.body")
    if kind in ("event_property_is", "event_property_contains"):
        key = condition.get("key")
        if not isinstance(key, str) or "value" not in condition:
            return False
        value = lookup(event, key)
        wanted = condition["value"]
        if kind == "event_property_is":
            return _same_value(value, wanted)
        return isinstance(value, list) and any(_same_value(v, wanted) for v in value)
    if kind == "contains_display_name":
        content = event.get("content")
        body = content.get("body") if isinstance(content, Mapping) else None
        if not isinstance(body, str):
            return False
        if display_name is UNKNOWN:
            raise MissingFact("display_name")
        return _display_name_in_body(display_name, body)
    if kind == "room_member_count":
        return _member_count_matches(condition.get("is"), facts.member_count)
    if kind == "sender_notification_permission":
        key = condition.get("key")
        if not isinstance(key, str):
            return False
        power = facts.power
        if not isinstance(power, PowerFacts):
            raise MissingFact("power_levels")
        needed = notification_level(power.power_levels, key, power.room_version)
        return power.sender_level >= needed
    return False


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
