"""Server-side search (``POST /search``): full text over the rooms a user can read.

Indexing: :meth:`SearchService.on_persist` runs inside the event writer's transaction, so
an event and its index row commit together, and a redaction removes its target's row in
the redaction's own transaction. Indexed are the spec's three keys: ``content.body`` of
``m.room.message``, ``content.name`` of ``m.room.name`` and ``content.topic`` of
``m.room.topic``.

Who sees what: the rooms searched are those the user is or was a member of (forgotten
rooms excepted). For each room with a match, the history-visibility rules
(``services.visibility``, the ones ``/messages`` applies) become the stream intervals the
user may read, and the query is confined to them. So counts, ranks and pages are computed
only over events the user could read anyway, and pages never come back short.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from glia import errors
from glia.clock import now_ms
from glia.errors import MatrixError
from glia.protocol.events import redacts_of
from glia.protocol.room_versions import RoomVersion
from glia.services.events import client_event
from glia.services.relations import Aggregator
from glia.services.tokens import Position
from glia.services.visibility import Visibility, room_visibility
from glia.storage import Storage, Stores
from glia.storage.events import StoredEvent
from glia.storage.search import (
    Phrase,
    RoomScope,
    SearchEntry,
    SearchFilter,
    SearchHit,
    SearchQuery,
    terms,
    words,
)

__all__ = ["INDEXED_TYPES", "SearchService", "entry_for", "parse_query"]

#: The spec's search keys → (event type, content field).
KEYS: dict[str, tuple[str, str]] = {
    "content.body": ("m.room.message", "body"),
    "content.name": ("m.room.name", "name"),
    "content.topic": ("m.room.topic", "topic"),
}
FIELDS = {event_type: field for event_type, field in KEYS.values()}
INDEXED_TYPES = tuple(FIELDS)
ORDERS = ("rank", "recent")
GROUP_KEYS = ("room_id", "sender")
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
DEFAULT_CONTEXT, MAX_CONTEXT = 5, 100
#: Longer search terms are refused rather than turned into huge index queries.
MAX_QUERY_TERMS = 64
#: Memberships whose rooms are searched: the user is, or once was, in them.
SEARCHED_MEMBERSHIPS = ["join", "invite", "leave", "ban", "knock"]
#: How far an upgraded room's chain of predecessors is followed.
MAX_PREDECESSORS = 50


def entry_for(stream_ordering: int, event_id: str, room_id: str, sender: str,
              event_type: str, state_key: str | None,
              content: Mapping[str, Any]) -> SearchEntry | None:
    """The index entry of an event, or None if it has nothing searchable."""
    field = FIELDS.get(event_type)
    if field is None:
        return None
    # Messages are not state; a name or topic counts only as the room's (empty key).
    if state_key != (None if event_type == "m.room.message" else ""):
        return None
    text = content.get(field)
    if not isinstance(text, str) or not text.strip():
        return None
    return SearchEntry(stream_ordering, event_id, room_id, sender, event_type,
                       isinstance(content.get("url"), str), text)


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
class _Context:
    before: int
    after: int
    include_profile: bool


@dataclass(frozen=True)
class _Criteria:
    search_term: str
    types: tuple[str, ...]
    rooms: list[str] | None
    not_rooms: list[str]
    senders: list[str] | None
    not_senders: list[str]
    contains_url: bool | None
    limit: int
    order_by: str
    context: _Context | None
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


def _type_matcher(patterns: Sequence[str]) -> re.Pattern[str]:
    """Event type patterns of a filter, where ``*`` matches any run of characters."""
    alternatives = ("".join(".*" if c == "*" else re.escape(c) for c in p) for p in patterns)
    return re.compile("(?:" + "|".join(alternatives) + r")\Z", re.DOTALL)


def _parse(body: Mapping[str, Any]) -> _Criteria | None:
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
        matcher = _type_matcher(wanted)
        types = [t for t in types if matcher.match(t)]
    unwanted = _strings(search_filter, "not_types", filter_name)
    if unwanted:
        matcher = _type_matcher(unwanted)
        types = [t for t in types if not matcher.match(t)]
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
        context = _Context(
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

    return _Criteria(
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
class _Batch:
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
    def parse(cls, token: str) -> _Batch:
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


# -- the service ---------------------------------------------------------------------


def _probe(room_id: str, stream: int) -> StoredEvent:
    """A stand-in message at ``stream``, to ask the visibility rules about a position."""
    return StoredEvent("", room_id, stream, 0, {"type": "m.room.message", "sender": ""}, {},
                       None, None, None)


class SearchService:
    def __init__(self, storage: Storage, aggregator: Aggregator) -> None:
        self._storage = storage
        self._aggregator = aggregator

    # -- indexing ----------------------------------------------------------------------

    async def on_persist(self, tx: Stores, event: StoredEvent, version: RoomVersion) -> None:
        """Index an event as it is written; a redaction unindexes what it redacted."""
        if event.type == "m.room.redaction":
            target_id = redacts_of(event.pdu, version)
            if target_id is None:
                return
            # Only if the writer did redact it (same room, not redacted before).
            target = await tx.events.get(target_id)
            if target is not None and target.redacted_by == event.event_id:
                await tx.search.delete_event(target_id, event.room_id)
            return
        entry = entry_for(event.stream_ordering, event.event_id, event.room_id,
                          event.sender, event.type, event.state_key, event.content)
        if entry is not None:
            await tx.search.index([entry])

    # -- searching ---------------------------------------------------------------------

    async def search(self, user_id: str, device_id: str, body: Mapping[str, Any],
                     next_batch: str | None) -> dict[str, Any]:
        criteria = _parse(body)
        batch = _Batch.parse(next_batch) if next_batch is not None else None
        if criteria is None:
            return {"search_categories": {}}
        if batch is not None and batch.order != criteria.order_by:
            raise errors.invalid_param(
                f"next_batch is for order_by {batch.order!r}, not {criteria.order_by!r}")
        return {"search_categories": {
            "room_events": await self._room_events(user_id, device_id, criteria, batch)}}

    async def _room_events(self, user_id: str, device_id: str, criteria: _Criteria,
                           batch: _Batch | None) -> dict[str, Any]:
        empty: dict[str, Any] = {"results": [], "count": 0, "highlights": []}
        query = parse_query(criteria.search_term)
        if query is None or not criteria.types:
            return empty
        rooms = await self._rooms(user_id, criteria)
        senders = criteria.senders
        if batch is not None and batch.group == "room_id":
            rooms = [r for r in rooms if r == batch.value]
        elif batch is not None and batch.group == "sender":
            senders = [batch.value] if senders is None or batch.value in senders else []
        search_filter = SearchFilter(criteria.types, None if senders is None else
                                     tuple(senders), tuple(criteria.not_senders),
                                     criteria.contains_url)
        if not rooms or senders == []:
            return empty

        store = self._storage.search
        scope: list[RoomScope] = []
        visibilities: dict[str, Visibility] = {}
        for room_id in await store.rooms_with_hits(query, rooms, search_filter):
            readable = await self._readable(user_id, room_id)
            if readable is not None:
                visibilities[room_id] = readable[0]
                scope.append(RoomScope(room_id, readable[1]))
        if not scope:
            return empty

        by_rank = criteria.order_by == "rank"
        offset = batch.position if batch is not None and by_rank else 0
        before = batch.position if batch is not None and not by_rank else None
        page = await store.page(query, scope, search_filter, by_rank=by_rank,
                                limit=criteria.limit + 1, offset=offset, before_stream=before)
        more = len(page) > criteria.limit
        page = page[:criteria.limit]
        events = await self._storage.events.get_many([h.event_id for h in page])
        # A room purge may have removed an event since the query ran.
        hits = [h for h in page if h.event_id in events]

        now = now_ms()
        viewer = (user_id, device_id)
        rendered: dict[str, dict[str, Any]] = {}
        for room_id, visibility in visibilities.items():
            room_events = [events[h.event_id] for h in hits if h.room_id == room_id]
            if room_events:
                for event, client in zip(room_events, await self._aggregator.client_events(
                        room_events, viewer, visibility, now), strict=True):
                    rendered[event.event_id] = client
        results = []
        for hit in hits:
            context: dict[str, Any] = {}
            if criteria.context is not None:
                context = await self._context(events[hit.event_id],
                                              visibilities[hit.room_id], viewer,
                                              criteria.context, now)
            results.append({"rank": hit.rank, "result": rendered[hit.event_id],
                            "context": context})

        out: dict[str, Any] = {
            "results": results,
            "count": await store.count(query, scope, search_filter),
            "highlights": _highlights(query, [events[h.event_id] for h in hits]),
        }
        group, value = (batch.group, batch.value) if batch is not None else ("", "")
        if more and page:
            position = offset + len(page) if by_rank else page[-1].stream_ordering
            out["next_batch"] = _Batch(criteria.order_by, position, group, value).token()
        if criteria.include_state:
            out["state"] = await self._states(user_id, hits, now)
        if criteria.group_by:
            out["groups"] = _groups(criteria.group_by, hits, events,
                                    page[-1].stream_ordering if more and not by_rank
                                    else None)
        return out

    async def _rooms(self, user_id: str, criteria: _Criteria) -> list[str]:
        """The rooms searched: the user's (current or past, not forgotten), narrowed by
        the filter; a room asked for by ID brings the rooms it was upgraded from."""
        rooms = []
        for membership in await self._storage.state.rooms_of_user(user_id,
                                                                   SEARCHED_MEMBERSHIPS):
            if membership.membership == "join" or not await self._storage.rooms.is_forgotten(
                    user_id, membership.room_id):
                rooms.append(membership.room_id)
        if criteria.rooms is not None:
            mine = set(rooms)
            wanted = await self._with_predecessors([r for r in criteria.rooms if r in mine])
            rooms = [r for r in rooms if r in wanted]
        excluded = set(criteria.not_rooms)
        return [r for r in rooms if r not in excluded]

    async def _with_predecessors(self, room_ids: list[str]) -> set[str]:
        found = set(room_ids)
        todo = list(room_ids)
        while todo and len(found) < len(room_ids) + MAX_PREDECESSORS:
            room_id = todo.pop()
            ids = await self._storage.state.current_ids(room_id, [("m.room.create", "")])
            create = await self._storage.events.get(ids[("m.room.create", "")]) \
                if ("m.room.create", "") in ids else None
            predecessor = create.content.get("predecessor") if create is not None else None
            previous = predecessor.get("room_id") if isinstance(predecessor, dict) else None
            if isinstance(previous, str) and previous not in found:
                found.add(previous)
                todo.append(previous)
        return found

    async def _readable(self, user_id: str, room_id: str
                        ) -> tuple[Visibility, tuple[tuple[int, int | None], ...]] | None:
        """The room's visibility for the user and the stream intervals it lets them
        read. Visibility only changes where the room's history visibility or the user's
        membership does, so asking the rules once per such stretch is exact."""
        try:
            visibility = await room_visibility(self._storage, user_id, room_id)
        except MatrixError:
            return None
        history = await self._storage.state.intervals(room_id, "m.room.history_visibility",
                                                      "")
        memberships = await self._storage.state.intervals(room_id, "m.room.member", user_id)
        starts = sorted({0, *(h.from_stream for h in history),
                         *(m.from_stream for m in memberships)})
        ranges: list[tuple[int, int | None]] = []
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else None
            if not visibility.visible(_probe(room_id, start)):
                continue
            if ranges and ranges[-1][1] == start:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((start, end))
        return (visibility, tuple(ranges)) if ranges else None

    async def _context(self, event: StoredEvent, visibility: Visibility,
                       viewer: tuple[str, str], wanted: _Context, now: int
                       ) -> dict[str, Any]:
        """Events around a result, as ``/context`` gives them (tokens for
        ``/messages``), with the senders' profiles at the time if asked."""
        here = (event.depth, event.stream_ordering)
        events = self._storage.events
        before = await events.page(event.room_id, backwards=True, from_pos=here,
                                   to_pos=None, limit=wanted.before) if wanted.before else []
        after = await events.page(event.room_id, backwards=False, from_pos=here,
                                  to_pos=None, limit=wanted.after) if wanted.after else []
        first = before[-1] if before else event
        last = after[-1] if after else event
        before = [e for e in before if visibility.visible(e)]
        after = [e for e in after if visibility.visible(e)]
        rendered = await self._aggregator.client_events([*before, *after], viewer,
                                                        visibility, now)
        context: dict[str, Any] = {
            "events_before": rendered[:len(before)],
            "events_after": rendered[len(before):],
            "start": Position(first.depth, first.stream_ordering).token(),
            "end": Position(last.depth, last.stream_ordering).token(),
        }
        if wanted.include_profile:
            senders = sorted({e.sender for e in [*before, event, *after]})
            ids = await self._storage.state.ids_at(
                event.room_id, last.stream_ordering,
                keys=[("m.room.member", s) for s in senders], types=["m.room.member"])
            members = await events.get_many(list(ids.values()))
            context["profile_info"] = {
                m.state_key: {"displayname": m.content.get("displayname"),
                              "avatar_url": m.content.get("avatar_url")}
                for m in members.values() if m.state_key is not None}
        return context

    async def _states(self, user_id: str, hits: Sequence[SearchHit], now: int
                      ) -> dict[str, list[dict[str, Any]]]:
        """Each result room's current state, or for a room the user left, its state
        when they left (what they last saw)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for room_id in dict.fromkeys(h.room_id for h in hits):
            membership = await self._storage.state.membership_of(room_id, user_id)
            stream = None
            if membership is not None and membership.membership != "join":
                own = await self._storage.events.get(membership.event_id)
                stream = own.stream_ordering if own is not None else None
            ids = await self._storage.state.ids_at(room_id, stream)
            state = await self._storage.events.get_many(list(ids.values()))
            out[room_id] = [client_event(e, None, now) for e in
                            sorted(state.values(), key=lambda e: e.stream_ordering)]
        return out


def _highlights(query: SearchQuery, events: Sequence[StoredEvent]) -> list[str]:
    """The words of the results that matched, as written (clients highlight them)."""
    found: set[str] = set()
    for event in events:
        text = event.content.get(FIELDS.get(event.type, ""))
        if isinstance(text, str):
            found.update(word for word, parts in words(text)
                         if any(query.highlights(t) for t in parts))
    return sorted(found)


def _groups(group_by: Sequence[str], hits: Sequence[SearchHit],
            events: Mapping[str, StoredEvent], next_stream: int | None
            ) -> dict[str, dict[str, dict[str, Any]]]:
    """The page's results partitioned by room or sender; ``order`` is where the group
    first appears. With ``recent`` ordering and more to come, each group gets a
    ``next_batch`` that continues within it."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for key in group_by:
        groups: dict[str, dict[str, Any]] = {}
        for hit in hits:
            value = hit.room_id if key == "room_id" else events[hit.event_id].sender
            group = groups.setdefault(value, {"results": [], "order": len(groups) + 1})
            group["results"].append(hit.event_id)
        if next_stream is not None:
            for value, group in groups.items():
                group["next_batch"] = _Batch("recent", next_stream, key, value).token()
        out[key] = groups
    return out
