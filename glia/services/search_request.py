"""The ``POST /search`` request: its model (the server decodes the body into it, so a
wrong field is refused naming it), the criteria it resolves to (keys, filter, order,
context, groups), the search term's query, and ``next_batch`` tokens. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

import msgspec

from glia import errors
from glia.protocol.canonical_json import NonNegativeInt
from glia.protocol.filters import EventFilter, EventFilterDefinition, compile_event_filter
from glia.services.tokens import opaque_token, open_token
from glia.storage.search import Phrase, SearchQuery, terms

#: The spec's search keys → (event type, content field).
SearchKey = Literal["content.body", "content.name", "content.topic"]
Order = Literal["rank", "recent"]
GroupKey = Literal["room_id", "sender"]
KEYS: dict[SearchKey, tuple[str, str]] = {
    "content.body": ("m.room.message", "body"),
    "content.name": ("m.room.name", "name"),
    "content.topic": ("m.room.topic", "topic"),
}
ORDERS: tuple[str, ...] = get_args(Order)
GROUP_KEYS: tuple[str, ...] = get_args(GroupKey)
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
    #: The indexed event types the keys and the filter's (not_)types leave.
    types: tuple[str, ...]
    #: The request's filter (rooms and senders with their wildcards).
    filter: EventFilter
    limit: int
    order_by: str
    context: ContextRequest | None
    include_state: bool
    group_by: tuple[str, ...]


class EventContextRequest(msgspec.Struct):
    before_limit: NonNegativeInt = DEFAULT_CONTEXT
    after_limit: NonNegativeInt = DEFAULT_CONTEXT
    include_profile: bool = False


class Grouping(msgspec.Struct):
    key: GroupKey


class Groupings(msgspec.Struct):
    group_by: list[Grouping] = []


class RoomEventsRequest(msgspec.Struct):
    search_term: str
    keys: list[SearchKey] | None = None
    #: The filter language's RoomEventFilter, the same model as everywhere else.
    filter: EventFilterDefinition | None = None
    order_by: Order = "rank"
    event_context: EventContextRequest | None = None
    include_state: bool = False
    groupings: Groupings | None = None


class SearchCategories(msgspec.Struct):
    room_events: RoomEventsRequest | None = None


class SearchRequest(msgspec.Struct):
    """The ``POST /search`` body."""

    search_categories: SearchCategories


def criteria_of(request: SearchRequest) -> Criteria | None:
    """The ``room_events`` criteria with the server's caps and the indexed types resolved
    (None if the request has no such category)."""
    criteria = request.search_categories.room_events
    if criteria is None:
        return None
    search_filter = compile_event_filter(criteria.filter)
    if search_filter.limit == 0:
        raise errors.invalid_param("filter.limit must be at least 1")
    types = [KEYS[k][0] for k in KEYS if (criteria.keys is None or k in criteria.keys)
             and search_filter.allows_type(KEYS[k][0])]
    context = None
    if criteria.event_context is not None:
        raw = criteria.event_context
        context = ContextRequest(min(raw.before_limit, MAX_CONTEXT),
                                 min(raw.after_limit, MAX_CONTEXT), raw.include_profile)
    group_by: list[str] = []
    for group in (criteria.groupings or Groupings()).group_by:
        if group.key not in group_by:
            group_by.append(group.key)
    return Criteria(
        search_term=criteria.search_term, types=tuple(types), filter=search_filter,
        limit=DEFAULT_LIMIT if search_filter.limit is None
        else min(search_filter.limit, MAX_LIMIT),
        order_by=criteria.order_by, context=context,
        include_state=criteria.include_state, group_by=tuple(group_by),
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
        return opaque_token(f"{self.order}|{self.group}|{self.position}|{self.value}")

    @classmethod
    def parse(cls, token: str) -> NextBatch:
        invalid = errors.invalid_param(f"Invalid next_batch {token!r}")
        raw = open_token(token, invalid)
        parts = raw.split("|", 3)
        if len(parts) != 4:
            raise invalid
        order, group, position, value = parts
        if order not in ORDERS or group not in ("", *GROUP_KEYS) or \
                not position.isdigit() or len(position) > 18 or bool(group) != bool(value):
            raise invalid
        return cls(order, int(position), group, value)
