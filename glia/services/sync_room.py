"""One room's entry in a ``/sync`` response: its timeline, state, account data, unread
counts and summary (a joined or left room), or the stripped state an invitee or knocker
sees.

:mod:`glia.services.sync` decides which rooms a response carries and from which stream
position; this module builds each of them. Only what is needed is read: the newest
``limit`` timeline events of the window, state as deltas (:mod:`glia.services.sync_state`),
never a room's whole history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from glia.protocol.filters import EventFilter, Filter, select_fields
from glia.services.events import StoredEvent, client_event
from glia.services.ignored_users import IgnoreView
from glia.services.relations import Aggregator
from glia.services.sync_response import (
    Events,
    JoinedRoom,
    LeftRoom,
    RoomSummary,
    Timeline,
    UnreadNotifications,
)
from glia.services.sync_state import StateSection
from glia.services.tokens import Position, gap_after, gap_before
from glia.services.visibility import Visibility, as_served, room_visibility
from glia.storage import Storage
from glia.storage.account_data import AccountData
from glia.storage.state import Membership

DEFAULT_TIMELINE_LIMIT = 10
#: State shown to invitees and knockers (the spec's recommended stripped state).
STRIPPED_TYPES = ("m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar",
                  "m.room.canonical_alias", "m.room.encryption", "m.room.topic")

#: A room's (notification, highlight) counts for a user: (user, room) → counts.
UnreadCounts = Callable[[str, str], Awaitable[tuple[int, int]]]


@dataclass(frozen=True)
class RoomWindow:
    """What every room of one response is built against: who asks (visibility, unread
    counts, the member events this device was already sent), with which filter, up to
    which position, at what time (events' ``age``) and whom they ignore."""

    user_id: str
    device_id: str
    filter: Filter
    upto: int
    now: int
    ignore: IgnoreView

    @property
    def device(self) -> tuple[str, str]:
        return self.user_id, self.device_id


class RoomSection:
    def __init__(self, storage: Storage, aggregator: Aggregator, unread_counts: UnreadCounts,
                 state_section: StateSection) -> None:
        self._storage = storage
        self._aggregator = aggregator
        self._unread = unread_counts
        self._state_section = state_section

    async def joined(self, window: RoomWindow, room_id: str, since: int | None,
                     newly: bool, ephemeral: list[dict[str, Any]],
                     account: list[AccountData]) -> JoinedRoom:
        """A joined room over (since, upto] (``since`` None: the room is new to the
        client, or must be sent again whole); ``newly`` adds its summary regardless."""
        user_id = window.user_id
        sections, timeline, state = await self._timeline_and_state(
            window, room_id, since, window.upto, account)
        notifications, highlights = await self._unread(user_id, room_id)
        room = JoinedRoom(timeline=sections.timeline, state=sections.state,
                          account_data=sections.account_data, ephemeral=Events(ephemeral),
                          unread_notifications=UnreadNotifications(notifications, highlights))
        if newly or any(e.type == "m.room.member" for e in (*timeline, *state)):
            room.summary = await self._summary(room_id, user_id)
        return room

    async def left(self, window: RoomWindow, room_id: str, since: int | None,
                   member: Membership, account: list[AccountData]) -> LeftRoom:
        """A room the user left: its timeline up to (and including) the leave."""
        leave = await self._storage.events.get(member.event_id)
        upto = leave.stream_ordering if leave is not None else window.upto
        body, _, _ = await self._timeline_and_state(window, room_id, since, upto, account)
        return body

    async def stripped_state(self, room_id: str, member_event_id: str
                             ) -> list[dict[str, Any]]:
        """The room's stripped state, the invite or knock itself, and the member event of
        whoever sent it (a client names a DM after the inviter, as on Synapse); for a
        room this server is not in, what the other server sent with the invite or knock
        fills in the events it does not have."""
        member = await self._storage.events.get(member_event_id)
        keys = [(t, "") for t in STRIPPED_TYPES]
        if member is not None:
            keys.append(("m.room.member", member.sender))
        ids = await self._storage.state.current_ids(room_id, keys)
        events = await self._storage.events.get_many([*ids.values(), member_event_id])
        ours = [{"type": e.type, "state_key": e.state_key, "content": e.content,
                 "sender": e.sender} for e in events.values()]
        have = {(e["type"], e["state_key"]) for e in ours}
        sent = await self._storage.stripped_state.of(member_event_id)
        return ours + [e for e in sent if (e["type"], e["state_key"]) not in have]

    async def _timeline_and_state(self, window: RoomWindow, room_id: str, since: int | None,
                                  upto: int, account: list[AccountData]
                                  ) -> tuple[LeftRoom, list[StoredEvent], list[StoredEvent]]:
        """A room's ``timeline``, ``state`` and ``account_data`` over (since, upto] (all a
        left room has; ``since`` None for a room new to the client), and the timeline's
        and state's events."""
        room_filter = window.filter.room
        visibility = await room_visibility(self._storage, window.user_id, room_id)
        timeline, limited = await self._timeline(room_filter.timeline, room_id, since, upto,
                                                 visibility, window.ignore)
        state = await self._state_section.events(
            window.device, room_id, since=since, upto=upto, timeline=timeline,
            state_filter=room_filter.state)
        sections = LeftRoom(
            Timeline(await self._render(window, timeline, visibility), limited,
                     await self._prev_batch(room_id, timeline, upto)),
            Events([_format(window, client_event(e, None, window.now)) for e in state]),
            Events([{"type": d.type, "content": d.content} for d in account
                    if d.content and room_filter.account_data.allows({"type": d.type})]),
        )
        return sections, timeline, state

    async def _timeline(self, event_filter: EventFilter, room_id: str, since: int | None,
                        upto: int, visibility: Visibility, ignore: IgnoreView
                        ) -> tuple[list[StoredEvent], bool]:
        """The newest ``limit`` visible, filter-passing events in (since, upto] that no
        ignored user sent, oldest first, and whether older ones in the window were left
        out."""
        limit = event_filter.limit_or(DEFAULT_TIMELINE_LIMIT)
        picked: list[StoredEvent] = []
        ceiling = upto
        batch = max(limit + 1, 20)
        while len(picked) <= limit:
            page = await self._storage.events.stream_page(room_id, since, ceiling, batch)
            for event in reversed(page):
                if (visibility.visible(event) and event_filter.allows(event.pdu)
                        and not ignore.hides(event)):
                    picked.append(event)
                    if len(picked) > limit:
                        break
            if len(page) < batch:
                break
            ceiling = page[0].stream_ordering - 1
            batch = min(batch * 2, 1000)  # a sparse filter scans faster, memory stays flat
        limited = len(picked) > limit
        return list(reversed(picked[:limit])), limited

    async def _render(self, window: RoomWindow, events: list[StoredEvent],
                      visibility: Visibility) -> list[dict[str, Any]]:
        if window.filter.event_format == "federation":
            served = await as_served(self._storage, visibility, events)
            return [_format(window, dict(e.pdu)) for e in served]
        rendered = await self._aggregator.client_events(
            events, window.device, visibility, window.now)
        return [_format(window, e) for e in rendered]

    async def _prev_batch(self, room_id: str, timeline: list[StoredEvent], upto: int) -> str:
        """A ``/messages`` token just before the timeline (or the window's end)."""
        if timeline:
            first = timeline[0]
            return gap_before(first.depth, first.stream_ordering).token()
        latest = await self._storage.events.stream_page(room_id, None, upto, 1)
        if not latest:
            return Position(0, 0).token()
        return gap_after(latest[0].depth, latest[0].stream_ordering).token()

    async def _summary(self, room_id: str, user_id: str) -> RoomSummary:
        counts = await self._storage.state.member_counts(room_id)
        summary = RoomSummary(joined_member_count=counts.get("join", 0),
                              invited_member_count=counts.get("invite", 0))
        named = await self._storage.state.current_ids(
            room_id, [("m.room.name", ""), ("m.room.canonical_alias", "")])
        if not named:
            summary.heroes = await self._storage.state.heroes(room_id, user_id)
        return summary


def _format(window: RoomWindow, event: dict[str, Any]) -> dict[str, Any]:
    """Only the filter's ``event_fields`` of an event, when it names any."""
    fields = window.filter.event_fields
    return event if fields is None else select_fields(event, fields)
