"""Reading a room's timeline: ``/messages``, ``/context``, ``/event``,
``timestamp_to_event``, each filtered by history visibility (``services.visibility``)
and with bundled aggregations (``services.relations``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.clock import now_ms
from glia.errors import MatrixError
from glia.ids import is_valid_event_id
from glia.protocol.filters import EventFilter
from glia.services.event_format import ClientEvent, legacy_client_event
from glia.services.events import client_event
from glia.services.filtered_pages import filtered_page
from glia.services.relations import Aggregator
from glia.services.tokens import Position, gap_after, gap_before, parse_position
from glia.services.visibility import Visibility, admin_visibility, room_visibility
from glia.storage import Storage
from glia.storage.events import StoredEvent

MAX_LIMIT = 1000

#: Fills a room's history behind a backwards page from other servers (federation
#: backfill); True if it stored anything, so the page is read again.
HistoryFill = Callable[[str, Sequence[StoredEvent]], Awaitable[bool]]


class MessagesPage(msgspec.Struct):
    """``/messages``: events in the client format; ``end`` only when there may be more."""

    chunk: list[ClientEvent]
    start: str
    end: str | UnsetType = UNSET
    #: With ``lazy_load_members``: the member events of the chunk's senders.
    state: list[ClientEvent] | UnsetType = UNSET


class ContextPage(msgspec.Struct):
    """``/context/{eventId}``: the event, its neighbours, tokens and the state at the
    last of them."""

    event: ClientEvent
    events_before: list[ClientEvent]
    events_after: list[ClientEvent]
    start: str
    end: str
    state: list[ClientEvent]


class EventAtTime(msgspec.Struct, frozen=True):
    event_id: str
    origin_server_ts: int


class TimelineService:
    def __init__(self, storage: Storage, aggregator: Aggregator,
                 history: HistoryFill | None = None) -> None:
        self._storage = storage
        self._aggregator = aggregator
        self._history = history

    async def messages(self, user_id: str, device_id: str, room_id: str, *,
                       from_token: str | None, to_token: str | None, backwards: bool,
                       limit: int, event_filter: EventFilter | None = None,
                       admin: bool = False) -> MessagesPage:
        """A page of the room's timeline; ``event_filter`` is the ``filter`` parameter
        (the http layer decodes it with the filter language's models)."""
        visibility = await self._visibility(user_id, room_id, admin)
        limit = max(0, min(limit, MAX_LIMIT))
        from_pos = await self._gap(room_id, from_token) if from_token else None
        to_pos = await self._gap(room_id, to_token) if to_token else None
        if from_pos is None and not backwards:
            from_pos = (0, 0)
        elif from_pos is None:
            latest = await self._storage.events.latest_in_room(room_id)
            from_pos = (latest.depth, latest.stream_ordering) if latest else (0, 0)
        page = await filtered_page(self._storage, room_id, event_filter or EventFilter(),
                                   backwards=backwards, from_pos=from_pos, to_pos=to_pos,
                                   limit=limit)
        if backwards and self._history is not None and limit > 0 \
                and await self._history(room_id, page.events):
            page = await filtered_page(self._storage, room_id,
                                       event_filter or EventFilter(), backwards=True,
                                       from_pos=from_pos, to_pos=to_pos, limit=limit)
        visible = [e for e in page.events if visibility.visible(e)]
        chunk = await self._aggregator.client_events(visible, (user_id, device_id),
                                                     visibility)
        body = MessagesPage(_formatted(chunk, admin), Position(*from_pos).token())
        if event_filter is not None and event_filter.lazy_load_members and visible:
            members = await self._senders_members(room_id, visible[0], visible)
            if members:
                body.state = _formatted([client_event(e, None) for e in members], admin)
        # ``end`` whenever there may be more: a full page, or (forwards) any page at
        # all, since newer events keep arriving (Synapse gives it for any non-empty
        # chunk going forwards too).
        last = page.last
        if last is not None and (page.more or not backwards):
            gap = gap_before if backwards else gap_after
            body.end = gap(last.depth, last.stream_ordering).token()
        return body

    async def _gap(self, room_id: str, token: str) -> tuple[int, int]:
        """A ``/messages`` token as a gap in the room's topological order; a ``/sync``
        token (``next_batch``, ``prev_batch``) names the gap after the room's last event
        at or before that stream position."""
        position = parse_position(token)
        if position.depth is not None:
            return position.depth, position.stream
        last = await self._storage.events.stream_page(room_id, None, position.stream, 1)
        return (last[0].depth, last[0].stream_ordering) if last else (0, 0)

    async def _visibility(self, user_id: str, room_id: str, admin: bool) -> Visibility:
        """The reader's view; ``admin`` for the admin API, which sees every event."""
        if admin:
            return await admin_visibility(self._storage, user_id, room_id)
        return await room_visibility(self._storage, user_id, room_id)

    async def _visible_event(self, user_id: str, room_id: str, event_id: str,
                             admin: bool = False) -> tuple[StoredEvent, Visibility]:
        if not is_valid_event_id(event_id):
            raise errors.invalid_param(f"{event_id} is not a legal event ID")
        visibility = await self._visibility(user_id, room_id, admin)
        event = await self._storage.events.get(event_id)
        if event is None or event.room_id != room_id or not visibility.visible(event):
            raise errors.not_found("Event not found.")
        return event, visibility

    async def event(self, user_id: str, device_id: str, room_id: str, event_id: str
                    ) -> ClientEvent:
        """One event; ``404`` too where the reader may not see the room at all, so that a
        stranger cannot tell an event ID of the room from a made-up one."""
        try:
            event, visibility = await self._visible_event(user_id, room_id, event_id)
        except MatrixError as e:
            if e.status != 403:
                raise
            raise errors.not_found("Event not found.") from e
        [out] = await self._aggregator.client_events([event], (user_id, device_id),
                                                     visibility)
        return out

    async def timestamp_to_event(self, user_id: str, room_id: str, ts: int,
                                 forwards: bool, admin: bool = False) -> EventAtTime:
        """The closest event at or after (``forwards``) / before ``ts`` the user may see."""
        visibility = await self._visibility(user_id, room_id, admin)
        # Skip the few events the user may not see (e.g. from before they joined).
        for candidate in await self._storage.events.closest_by_ts(room_id, ts, forwards, 50):
            if visibility.visible(candidate):
                return EventAtTime(candidate.event_id, candidate.pdu["origin_server_ts"])
        direction = "forward" if forwards else "backward"
        raise errors.not_found(f"Unable to find event from {ts} in {direction} direction")

    async def context(self, user_id: str, device_id: str, room_id: str, event_id: str,
                      limit: int, event_filter: EventFilter | None = None,
                      admin: bool = False) -> ContextPage:
        event, visibility = await self._visible_event(user_id, room_id, event_id, admin)
        limit = max(0, min(limit, MAX_LIMIT))
        before_n = limit // 2
        after_n = limit - before_n
        wanted = event_filter or EventFilter()
        before_page = await filtered_page(
            self._storage, room_id, wanted, backwards=True,
            from_pos=(event.depth, event.stream_ordering - 1), to_pos=None, limit=before_n)
        after_page = await filtered_page(
            self._storage, room_id, wanted, backwards=False,
            from_pos=(event.depth, event.stream_ordering), to_pos=None, limit=after_n)
        now = now_ms()
        viewer = (user_id, device_id)
        first = before_page.last or event
        last = after_page.last or event
        before = [e for e in before_page.events if visibility.visible(e)]
        after = [e for e in after_page.events if visibility.visible(e)]
        # The state at the last event *returned*: one the caller may see, so a user who
        # left never gets the state as it became after their leave.
        state_at = after[-1] if after else event
        event_filter = event_filter or EventFilter()
        if event_filter.lazy_load_members:
            state = await self._senders_members(room_id, state_at, [event, *before, *after])
        else:
            state_ids = await self._storage.state.ids_at(room_id, state_at.stream_ordering)
            state = list((await self._storage.events.get_many(list(state_ids.values())))
                         .values())
        # The filter applies to the neighbours and the state, never to the event itself.
        state = [e for e in state if event_filter.allows(e.pdu)]
        rendered = await self._aggregator.client_events([event, *before, *after], viewer,
                                                        visibility, now)
        rendered = _formatted(rendered, admin)
        return ContextPage(
            rendered[0], rendered[1:1 + len(before)], rendered[1 + len(before):],
            gap_before(first.depth, first.stream_ordering).token(),
            gap_after(last.depth, last.stream_ordering).token(),
            _formatted([client_event(e, None, now) for e in
                        sorted(state, key=lambda e: e.stream_ordering)], admin))

    async def _senders_members(self, room_id: str, at: StoredEvent,
                               events: list[StoredEvent]) -> list[StoredEvent]:
        """The member events (as of just after ``at``) of the senders of ``events``: what
        a lazy-loading client needs to render them."""
        keys = sorted({("m.room.member", e.sender) for e in events})
        ids = await self._storage.state.ids_at(room_id, at.stream_ordering, keys)
        found = await self._storage.events.get_many(list(ids.values()))
        return sorted(found.values(), key=lambda e: e.stream_ordering)


def _formatted(events: list[ClientEvent], admin: bool) -> list[ClientEvent]:
    """The admin API answers Synapse's legacy client format, which tools read."""
    return [legacy_client_event(e) for e in events] if admin else events


