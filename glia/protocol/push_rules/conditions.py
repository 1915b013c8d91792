"""Push rule conditions: what the evaluator knows about an event, and whether one
condition holds for it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from glia.protocol.glob import glob_match
from glia.protocol.power_levels import notification_level
from glia.protocol.push_rules.words import display_names_in
from glia.protocol.room_versions import RoomVersion


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


#: Condition kinds whose result is the same for every user (memoised per event).
_SHARED_KINDS = frozenset({"event_match", "event_property_is", "event_property_contains",
                           "room_member_count", "sender_notification_permission"})


def condition_key(condition: Mapping[str, Any]) -> tuple[Any, ...] | None:
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
    key = condition_key(condition)
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
        return isinstance(display_name, str) and bool(display_names_in(body, [display_name]))
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
