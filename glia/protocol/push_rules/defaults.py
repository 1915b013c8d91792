"""The spec's server-default push rules, and their merge with a user's own rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from glia.protocol.push_rules.rules import (
    KINDS,
    LOCALPART_PLACEHOLDER,
    MASTER_RULE,
    USER_PLACEHOLDER,
    Action,
    DefaultRuleChange,
    PushRule,
    Ruleset,
)

_SOUND_DEFAULT: Final = {"set_tweak": "sound", "value": "default"}
_HIGHLIGHT: Final = {"set_tweak": "highlight"}
_USER: Final = USER_PLACEHOLDER
_LOCALPART: Final = LOCALPART_PLACEHOLDER


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


def personalise(value: Any, user_id: str) -> Any:
    """A server-default rule's pattern or condition with the owner placeholders filled in
    for ``user_id``."""
    return _personalise(value, user_id, localpart(user_id))


def _personalise(value: Any, user_id: str, localpart: str) -> Any:
    if isinstance(value, str):
        return value.replace(_USER, user_id).replace(_LOCALPART, localpart)
    if isinstance(value, dict):
        return {k: _personalise(v, user_id, localpart) for k, v in value.items()}
    return value


def localpart(user_id: str) -> str:
    """What ``parse_user_id`` takes as the localpart (the text between ``@`` and the
    first ``:``), for any string: the default rules are filled in for every member of
    a room on every event, and need no validation."""
    return user_id.removeprefix("@").partition(":")[0]


def _personalised(rule: PushRule, user_id: str, localpart: str) -> PushRule:
    if rule.conditions is not None:
        rule = replace(rule, conditions=tuple(
            _personalise(c, user_id, localpart) for c in rule.conditions))
    if rule.pattern is not None:
        rule = replace(rule, pattern=_personalise(rule.pattern, user_id, localpart))
    return rule


def default_rules(user_id: str, kind: str) -> list[PushRule]:
    """The server-default rules of one kind, filled in for ``user_id``."""
    owner = localpart(user_id)
    return [_personalised(rule, user_id, owner) for rule in _DEFAULTS[kind]]


def is_default_rule(kind: str, rule_id: str) -> bool:
    return rule_id in DEFAULT_RULE_IDS.get(kind, frozenset())


def build_ruleset(user_id: str, user_rules: Sequence[PushRule],
                  changes: Mapping[tuple[str, str], DefaultRuleChange]) -> Ruleset:
    """A user's complete rule set: :func:`build_template` with the server-default rules
    filled in for ``user_id`` (what the push rules API shows)."""
    template = build_template(user_rules, changes)
    owner = localpart(user_id)
    return Ruleset({kind: [_personalised(r, user_id, owner) if r.default else r
                           for r in rules] for kind, rules in template.by_kind.items()})


def build_template(user_rules: Sequence[PushRule],
                   changes: Mapping[tuple[str, str], DefaultRuleChange]) -> Ruleset:
    """Merge the server defaults (with the user's changes) and the user's own rules,
    leaving the owner placeholders of the server-default rules in place: users with the
    same rules and changes share one template (most users share the bare defaults).

    ``user_rules`` must be ordered most important first within each kind. The master
    rule comes before everything; other server-default rules come after the user's own
    rules of the same kind.
    """
    by_kind: dict[str, list[PushRule]] = {}
    for kind in KINDS:
        defaults = []
        for rule in _DEFAULTS[kind]:
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


#: The rules of every user who never changed one.
DEFAULT_TEMPLATE: Final = build_template([], {})
