"""Push rules: the server-default rule set, rule validation, and the evaluator.

Pure logic (no I/O). The service hands in a user's own rules and their changes to the
server-default rules; this package merges them into the spec's order and decides which
rule's actions apply to an event. Facts that cost a database read (the user's display
name in the room, the power levels) are asked for lazily: the evaluator raises
:class:`MissingFact` the first time a rule needs one, so the caller loads it only for
the events that really need it and evaluates again.

Modules: ``rules`` (a rule and a rule set), ``defaults`` (the spec's server-default rules
and the merge), ``requests`` (validating what clients send), ``conditions`` (the facts
about an event and the condition kinds), ``words`` (names found in a body, many at
once), ``evaluation`` (the first matching rule for each of many users, and its actions).
"""

from glia.protocol.glob import glob_match
from glia.protocol.push_rules.conditions import (
    UNKNOWN,
    EventFacts,
    MissingFact,
    PowerFacts,
    condition_matches,
    lookup,
    split_key,
)
from glia.protocol.push_rules.defaults import (
    DEFAULT_RULE_IDS,
    DEFAULT_TEMPLATE,
    build_ruleset,
    build_template,
    default_rules,
    is_default_rule,
)
from glia.protocol.push_rules.evaluation import (
    effective_actions,
    evaluate,
    evaluate_members,
    highlights,
    notifies,
    tweaks,
)
from glia.protocol.push_rules.requests import (
    check_kind,
    check_new_rule_id,
    parse_conditions,
    rule_from_request,
)
from glia.protocol.push_rules.rules import (
    HISTORICAL_ACTIONS,
    KINDS,
    LEGACY_MENTION_RULES,
    LOCALPART_PLACEHOLDER,
    MASTER_RULE,
    USER_PLACEHOLDER,
    Action,
    DefaultRuleChange,
    PushRule,
    Ruleset,
)
from glia.protocol.push_rules.words import NameIndex

__all__ = [
    "DEFAULT_RULE_IDS",
    "DEFAULT_TEMPLATE",
    "HISTORICAL_ACTIONS",
    "KINDS",
    "LEGACY_MENTION_RULES",
    "LOCALPART_PLACEHOLDER",
    "MASTER_RULE",
    "UNKNOWN",
    "USER_PLACEHOLDER",
    "Action",
    "DefaultRuleChange",
    "EventFacts",
    "MissingFact",
    "NameIndex",
    "PowerFacts",
    "PushRule",
    "Ruleset",
    "build_ruleset",
    "build_template",
    "check_kind",
    "check_new_rule_id",
    "condition_matches",
    "default_rules",
    "effective_actions",
    "evaluate",
    "evaluate_members",
    "glob_match",
    "highlights",
    "is_default_rule",
    "lookup",
    "notifies",
    "parse_conditions",
    "rule_from_request",
    "split_key",
    "tweaks",
]
