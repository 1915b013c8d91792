"""The ``POST /search`` request: the search term, the criteria (keys, filter, order,
context, groups) validated into plain values, and ``next_batch`` tokens. No I/O."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from glia import errors
from glia.protocol.glob import wildcard_match
from glia.storage.search import Phrase, SearchQuery, terms

#: The spec's search keys → (event type, content field).
KEYS: dict[str, tuple[str, str]] = {
    "content.body": ("m.room.message", "body"),
    "content.name": ("m.room.name", "name"),
    "content.topic": ("m.room.topic", "topic"),
}
ORDERS = ("rank", "recent")
GROUP_KEYS = ("room_id", "sender")
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
DEFAULT_CONTEXT, MAX_CONTEXT = 5, 100
#: Longer search terms are refused rather than turned into huge index queries.
MAX_QUERY_TERMS = 64


# -- the search term -----------------------------------------------------------------

_PIECE = re.compile(r'(-?)"([^"]*)"?|([^\s"]+)')


def parse_query(text: str) -> SearchQuery | None:
    """A search term as a query: words must all match (each as a prefix), ``"quoted
    words"`` as an exact phrase, ``OR`` between two alternatives, ``-word`` excludes.
    None when nothing searchable is left (only punctuation, or only exclusions)."""
    required: list[list[Phrase]] = []
    excluded: list[Phrase] = []
    join_next = False
    count = 0
    for match in _PIECE.finditer(text):
        quoted = match.group(2) is not None
        raw: str = match.group(2) if quoted else match.group(3)
        if not quoted and raw == "OR":
            join_next = bool(required)
            continue
        negated = bool(match.group(1)) if quoted else raw.startswith("-") and len(raw) > 1
        if negated and not quoted:
            raw = raw[1:]
        found = tuple(terms(raw))
        count += len(found)
        if count > MAX_QUERY_TERMS:
            raise errors.invalid_param(
                f"search_term has more than {MAX_QUERY_TERMS} words")
        if not found:
            continue
        phrase = Phrase(found, prefix=not quoted)
        if negated:
            excluded.append(phrase)
        elif join_next:
            required[-1].append(phrase)
        else:
            required.append([phrase])
        join_next = False
    if not required:
        return None
    return SearchQuery(tuple(tuple(g) for g in required), tuple(excluded))


# -- the request ---------------------------------------------------------------------


@dataclass(frozen=True)
class ContextRequest:
    before: int
    after: int
    include_profile: bool


@dataclass(frozen=True)
class Criteria:
    search_term: str
    types: tuple[str, ...]
    rooms: list[str] | None
    not_rooms: list[str]
    senders: list[str] | None
    not_senders: list[str]
    contains_url: bool | None
    limit: int
    order_by: str
    context: ContextRequest | None
    include_state: bool
    group_by: tuple[str, ...]


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.bad_json(f"{name} must be an object")
    return value


def _strings(body: Mapping[str, Any], key: str, name: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.bad_json(f"{name}.{key} must be a list of strings")
    return value


def _bool(body: Mapping[str, Any], key: str, name: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise errors.bad_json(f"{name}.{key} must be a boolean")
    return value


def _int(body: Mapping[str, Any], key: str, name: str, default: int, minimum: int,
         maximum: int) -> int:
    """An integer field, at least ``minimum``; values past ``maximum`` are capped."""
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.bad_json(f"{name}.{key} must be an integer")
    if value < minimum:
        raise errors.invalid_param(f"{name}.{key} must be at least {minimum}")
    return min(value, maximum)


def _matches_any(event_type: str, patterns: Sequence[str]) -> bool:
    """Whether one of a filter's event type patterns (``*`` wildcards) matches."""
    return any(wildcard_match(p, event_type) for p in patterns)


def parse_request(body: Mapping[str, Any]) -> Criteria | None:
    """The ``room_events`` criteria (None if the request has no such category)."""
    if "search_categories" not in body:
        raise errors.missing_param("Missing params: ['search_categories']")
    categories = _object(body["search_categories"], "search_categories")
    if categories.get("room_events") is None:
        return None
    name = "search_categories.room_events"
    criteria = _object(categories["room_events"], name)
    term = criteria.get("search_term")
    if term is None:
        raise errors.missing_param(f"Missing params: ['{name}.search_term']")
    if not isinstance(term, str):
        raise errors.bad_json(f"{name}.search_term must be a string")

    keys = _strings(criteria, "keys", name)
    if keys is not None:
        unknown = sorted(set(keys) - set(KEYS))
        if unknown:
            raise errors.invalid_param(f"Unknown search keys: {unknown}; "
                                       f"expected some of {list(KEYS)}")
    types = [KEYS[k][0] for k in KEYS if keys is None or k in keys]

    filter_name = f"{name}.filter"
    search_filter = _object(criteria.get("filter"), filter_name)
    wanted = _strings(search_filter, "types", filter_name)
    if wanted is not None:
        types = [t for t in types if _matches_any(t, wanted)]
    unwanted = _strings(search_filter, "not_types", filter_name)
    if unwanted:
        types = [t for t in types if not _matches_any(t, unwanted)]
    contains_url = search_filter.get("contains_url")
    if contains_url is not None and not isinstance(contains_url, bool):
        raise errors.bad_json(f"{filter_name}.contains_url must be a boolean")

    order_by = criteria.get("order_by", "rank")
    if not isinstance(order_by, str):
        raise errors.bad_json(f"{name}.order_by must be a string")
    if order_by not in ORDERS:
        raise errors.invalid_param(f"Invalid order by: {order_by!r}; expected one of "
                                   f"{list(ORDERS)}")

    context = None
    if criteria.get("event_context") is not None:
        context_name = f"{name}.event_context"
        raw = _object(criteria["event_context"], context_name)
        context = ContextRequest(
            _int(raw, "before_limit", context_name, DEFAULT_CONTEXT, 0, MAX_CONTEXT),
            _int(raw, "after_limit", context_name, DEFAULT_CONTEXT, 0, MAX_CONTEXT),
            _bool(raw, "include_profile", context_name, False))

    groupings_name = f"{name}.groupings"
    groupings = _object(criteria.get("groupings"), groupings_name)
    group_by: list[str] = []
    raw_groups = groupings.get("group_by", [])
    if not isinstance(raw_groups, list):
        raise errors.bad_json(f"{groupings_name}.group_by must be a list")
    for group in raw_groups:
        key = group.get("key") if isinstance(group, dict) else None
        if not isinstance(key, str):
            raise errors.bad_json(f"{groupings_name}.group_by entries must be objects "
                                  "with a string 'key'")
        if key not in GROUP_KEYS:
            raise errors.invalid_param(f"Invalid group by key: {key!r}; expected one of "
                                       f"{list(GROUP_KEYS)}")
        if key not in group_by:
            group_by.append(key)

    return Criteria(
        search_term=term, types=tuple(types),
        rooms=_strings(search_filter, "rooms", filter_name),
        not_rooms=_strings(search_filter, "not_rooms", filter_name) or [],
        senders=_strings(search_filter, "senders", filter_name),
        not_senders=_strings(search_filter, "not_senders", filter_name) or [],
        contains_url=contains_url,
        limit=_int(search_filter, "limit", filter_name, DEFAULT_LIMIT, 1, MAX_LIMIT),
        order_by=order_by, context=context,
        include_state=_bool(criteria, "include_state", name, False),
        group_by=tuple(group_by),
    )


# -- pagination tokens ---------------------------------------------------------------


@dataclass(frozen=True)
class NextBatch:
    """Where the next page starts: an offset (``rank``) or the stream ordering the
    next page stays below (``recent``); optionally within one group."""

    order: str
    position: int
    group: str = ""
    value: str = ""

    def token(self) -> str:
        raw = f"{self.order}|{self.group}|{self.position}|{self.value}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def parse(cls, token: str) -> NextBatch:
        invalid = errors.invalid_param(f"Invalid next_batch {token!r}")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as e:
            raise invalid from e
        parts = raw.split("|", 3)
        if len(parts) != 4:
            raise invalid
        order, group, position, value = parts
        if order not in ORDERS or group not in ("", *GROUP_KEYS) or \
                not position.isdigit() or len(position) > 18 or bool(group) != bool(value):
            raise invalid
        return cls(order, int(position), group, value)
