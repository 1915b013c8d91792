"""Server-side search (``POST /search``): full text over the rooms a user can read.

Indexing: :class:`SearchIndexer` is a subscriber of the event writer, so an event is
indexed right after it commits (before the client's request returns) or, should that
fail, by the writer's retries; a redaction removes its target's row. Indexed are the
spec's three keys: ``content.body`` of ``m.room.message``, ``content.name`` of
``m.room.name`` and ``content.topic`` of ``m.room.topic``.

Who sees what: the rooms searched are those the user is or was a member of (forgotten
rooms excepted). For each room with a match, the history-visibility rules
(``services.visibility``, the ones ``/messages`` applies) become the stream intervals the
user may read, and the query is confined to them. So counts, ranks and pages are computed
only over events the user could read anyway, and pages never come back short.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from glia import errors
from glia.clock import now_ms
from glia.errors import MatrixError
from glia.protocol.events import redacts_of
from glia.protocol.filters import EventFilter, is_literal, matches_any
from glia.services.event_fanout import WrittenEvent
from glia.services.event_format import client_event
from glia.services.relations import Aggregator
from glia.services.search_entries import (
    INDEXED_TYPES,
    edited_event_of,
    entry_for,
    searchable_texts,
    with_newest_text,
)
from glia.services.search_request import (
    ContextRequest,
    Criteria,
    NextBatch,
    SearchRequest,
    criteria_of,
    parse_query,
)
from glia.services.search_results import (
    EventContext,
    Group,
    RoomEvents,
    SearchCategories,
    SearchResult,
    SearchResults,
    SenderProfile,
)
from glia.services.tokens import gap_after, gap_before
from glia.services.visibility import Visibility, erased_for, room_visibility
from glia.storage import Storage
from glia.storage.events import StoredEvent
from glia.storage.search import (
    RoomScope,
    SearchFilter,
    SearchHit,
    SearchQuery,
    words,
)

__all__ = ["INDEXED_TYPES", "SearchIndexer", "SearchService", "entry_for", "parse_query"]

#: Memberships whose rooms are searched: the user is, or once was, in them.
SEARCHED_MEMBERSHIPS = ["join", "invite", "leave", "ban", "knock"]
#: How far an upgraded room's chain of predecessors is followed.
MAX_PREDECESSORS = 50


# -- the service ---------------------------------------------------------------------


def _probe(room_id: str, stream: int) -> StoredEvent:
    """A stand-in message at ``stream``, to ask the visibility rules about a position."""
    return StoredEvent("", room_id, stream, 0, {"type": "m.room.message", "sender": ""}, {},
                       None, None, None)


class SearchIndexer:
    """The event writer's subscriber that keeps the full-text index current. Idempotent:
    an entry is an upsert by stream position, and a redaction's delete can repeat."""

    name = "search"

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        # An edit re-indexes the message it edits (with the newest text, which may be
        # this edit's or a later one's).
        edited = [edited_id for w in events
                  if (edited_id := edited_event_of(w.event.content)) is not None]
        sources = [w.event for w in events] + \
            list((await self._storage.events.get_many(edited)).values())
        entries = await with_newest_text(self._storage.events, [
            entry for e in sources if (entry := entry_for(
                e.stream_ordering, e.event_id, e.room_id, e.sender, e.type, e.state_key,
                e.content)) is not None])
        redactions = [(w.event, target_id) for w in events
                      if w.event.type == "m.room.redaction"
                      and (target_id := redacts_of(w.event.pdu, w.version)) is not None]
        if not entries and not redactions:
            return
        async with self._storage.transaction() as tx:
            if entries:
                # An entry's event may have been redacted since it was handed to us (its
                # redaction's subscribers may even have run already): leave those out.
                now = await tx.events.get_many([e.event_id for e in entries])
                await tx.search.index([e for e in entries if e.event_id in now
                                       and now[e.event_id].redacted_by is None])
            if redactions:
                targets = await tx.events.get_many([t for _, t in redactions])
                for redaction, target_id in redactions:
                    target = targets.get(target_id)
                    # Only if the writer did redact it (same room, not redacted before).
                    if target is not None and target.redacted_by == redaction.event_id:
                        await tx.search.delete_event(target_id, redaction.room_id)


class SearchService:
    def __init__(self, storage: Storage, aggregator: Aggregator) -> None:
        self._storage = storage
        self._aggregator = aggregator

    # -- searching ---------------------------------------------------------------------

    async def search(self, user_id: str, device_id: str, request: SearchRequest,
                     next_batch: str | None) -> SearchResults:
        criteria = criteria_of(request)
        batch = NextBatch.parse(next_batch) if next_batch is not None else None
        if criteria is None:
            return SearchResults(SearchCategories())
        if batch is not None and batch.order != criteria.order_by:
            raise errors.invalid_param(
                f"next_batch is for order_by {batch.order!r}, not {criteria.order_by!r}")
        return SearchResults(SearchCategories(
            await self._room_events(user_id, device_id, criteria, batch)))

    async def _room_events(self, user_id: str, device_id: str, criteria: Criteria,
                           batch: NextBatch | None) -> RoomEvents:
        empty = RoomEvents(results=[], count=0, highlights=[])
        query = parse_query(criteria.search_term)
        if query is None or not criteria.types:
            return empty
        rooms = await self._rooms(user_id, criteria)
        senders, not_senders = await self._senders(rooms, criteria.filter)
        if batch is not None and batch.group == "room_id":
            rooms = [r for r in rooms if r == batch.value]
        elif batch is not None and batch.group == "sender":
            senders = [batch.value] if senders is None or batch.value in senders else []
        search_filter = SearchFilter(criteria.types, None if senders is None else
                                     tuple(senders), tuple(not_senders),
                                     criteria.filter.contains_url)
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
        # A room purge may have removed an event since the query ran. An erased sender's
        # event the searcher is served redacted is no hit: matching its words would
        # tell what it said.
        hidden: set[str] = set()
        for room_id, visibility in visibilities.items():
            hidden |= await erased_for(self._storage, visibility, [
                events[h.event_id] for h in page
                if h.room_id == room_id and h.event_id in events])
        hits = [h for h in page if h.event_id in events and h.event_id not in hidden]

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
            context = EventContext()
            if criteria.context is not None:
                context = await self._context(events[hit.event_id],
                                              visibilities[hit.room_id], viewer,
                                              criteria.context, now)
            results.append(SearchResult(hit.rank, rendered[hit.event_id], context))

        out = RoomEvents(
            results=results,
            count=await store.count(query, scope, search_filter),
            highlights=_highlights(query, await searchable_texts(
                self._storage.events, [events[h.event_id] for h in hits])),
        )
        group, value = (batch.group, batch.value) if batch is not None else ("", "")
        if more and page:
            position = offset + len(page) if by_rank else page[-1].stream_ordering
            out.next_batch = NextBatch(criteria.order_by, position, group, value).token()
        if criteria.include_state:
            out.state = await self._states(user_id, hits, now)
        if criteria.group_by:
            out.groups = _groups(criteria.group_by, hits, events,
                                    page[-1].stream_ordering if more and not by_rank
                                    else None)
        return out

    async def _rooms(self, user_id: str, criteria: Criteria) -> list[str]:
        """The rooms searched: the user's (current or past, not forgotten), narrowed by
        the filter; a room asked for by ID brings the rooms it was upgraded from."""
        rooms = []
        for membership in await self._storage.state.rooms_of_user(user_id,
                                                                   SEARCHED_MEMBERSHIPS):
            if membership.membership == "join" or not await self._storage.rooms.is_forgotten(
                    user_id, membership.room_id):
                rooms.append(membership.room_id)
        wanted_rooms = criteria.filter.rooms
        if wanted_rooms is not None:
            wanted = await self._with_predecessors(
                [r for r in rooms if matches_any(r, wanted_rooms)])
            rooms = [r for r in rooms if r in wanted]
        return [r for r in rooms if not matches_any(r, criteria.filter.not_rooms)]

    async def _senders(self, rooms: list[str], search_filter: EventFilter
                       ) -> tuple[list[str] | None, list[str]]:
        """The filter's senders and not_senders as user IDs for the index query: a list
        with a wildcard stands for the users it matches among the rooms' members (any
        sender of a room's events has been a member of it)."""
        wanted, unwanted = search_filter.senders, search_filter.not_senders
        if all(is_literal(p) for p in (*(wanted or ()), *unwanted)):
            return (None if wanted is None else list(wanted)), list(unwanted)
        members: set[str] = set()
        for room_id in rooms:
            members.update(m.user_id for m in await self._storage.state.members_at(room_id,
                                                                                  None))
        return ([u for u in sorted(members) if search_filter.allows_sender(u)]
                if wanted is not None else None,
                [u for u in sorted(members) if matches_any(u, unwanted)])

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
                       viewer: tuple[str, str], wanted: ContextRequest, now: int
                       ) -> EventContext:
        """Events around a result, as ``/context`` gives them (tokens for
        ``/messages``), with the senders' profiles at the time if asked."""
        here = (event.depth, event.stream_ordering)
        events = self._storage.events
        before = await events.page(event.room_id, backwards=True,
                                   from_pos=(event.depth, event.stream_ordering - 1),
                                   to_pos=None, limit=wanted.before) if wanted.before else []
        after = await events.page(event.room_id, backwards=False, from_pos=here,
                                  to_pos=None, limit=wanted.after) if wanted.after else []
        first = before[-1] if before else event
        last = after[-1] if after else event
        before = [e for e in before if visibility.visible(e)]
        after = [e for e in after if visibility.visible(e)]
        rendered = await self._aggregator.client_events([*before, *after], viewer,
                                                        visibility, now)
        context = EventContext(
            events_before=rendered[:len(before)],
            events_after=rendered[len(before):],
            start=gap_before(first.depth, first.stream_ordering).token(),
            end=gap_after(last.depth, last.stream_ordering).token(),
        )
        if wanted.include_profile:
            senders = sorted({e.sender for e in [*before, event, *after]})
            ids = await self._storage.state.ids_at(
                event.room_id, last.stream_ordering,
                keys=[("m.room.member", s) for s in senders], types=["m.room.member"])
            members = await events.get_many(list(ids.values()))
            context.profile_info = {
                m.state_key: SenderProfile(m.content.get("displayname"),
                                           m.content.get("avatar_url"))
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


def _highlights(query: SearchQuery, texts: Sequence[str]) -> list[str]:
    """The words of the results' searchable texts (an edited message's newest) that
    matched, as written (clients highlight them)."""
    found: set[str] = set()
    for text in texts:
        found.update(word for word, parts in words(text)
                     if any(query.highlights(t) for t in parts))
    return sorted(found)


def _groups(group_by: Sequence[str], hits: Sequence[SearchHit],
            events: Mapping[str, StoredEvent], next_stream: int | None
            ) -> dict[str, dict[str, Group]]:
    """The page's results partitioned by room or sender; ``order`` is where the group
    first appears. With ``recent`` ordering and more to come, each group gets a
    ``next_batch`` that continues within it."""
    out: dict[str, dict[str, Group]] = {}
    for key in group_by:
        groups: dict[str, Group] = {}
        for hit in hits:
            value = hit.room_id if key == "room_id" else events[hit.event_id].sender
            group = groups.setdefault(value, Group(results=[], order=len(groups) + 1))
            group.results.append(hit.event_id)
        if next_stream is not None:
            for value, group in groups.items():
                group.next_batch = NextBatch("recent", next_stream, key, value).token()
        out[key] = groups
    return out
