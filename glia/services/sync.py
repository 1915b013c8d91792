"""``/sync``: everything new for one device since a token, long-polling until there is.

A token is ``s<position>``: every durable stream (room events, account data, receipts,
typing, presence, to-device, device lists) takes its positions from one counter, so one
number says "everything up to here". A response covers (since, upto], where ``upto`` is a
position below which every write has committed (``Storage.stream_upto``).

Per room, only what is needed is read: the newest ``limit`` timeline events of the
window, and state as deltas between stream positions — never a room's whole history.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from glia import errors
from glia.clock import now_ms
from glia.protocol.filters import EventFilter, Filter, select_fields
from glia.services.events import StoredEvent, client_event
from glia.services.ignored_users import IgnoreView, ignore_view
from glia.services.notifier import Notifier
from glia.services.presence import PresenceService
from glia.services.receipts import ReceiptService
from glia.services.relations import Aggregator
from glia.services.sync_response import (
    DeviceSection,
    Events,
    InvitedRoom,
    JoinedRoom,
    KnockedRoom,
    LeftRoom,
    Rooms,
    RoomSummary,
    SyncResponse,
    Timeline,
    UnreadNotifications,
)
from glia.services.sync_state import StateSection
from glia.services.tokens import Position, gap_after, gap_before
from glia.services.typing import TypingService
from glia.services.visibility import Visibility, as_served, room_visibility
from glia.storage import Storage
from glia.storage.account_data import GLOBAL, AccountData
from glia.storage.state import Membership

DEFAULT_TIMELINE_LIMIT = 10
MAX_TIMEOUT_MS = 5 * 60_000
_TOKEN = re.compile(r"s([0-9]{1,18})(?:_\S*)?")
#: State shown to invitees and knockers (the spec's recommended stripped state).
STRIPPED_TYPES = ("m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar",
                  "m.room.canonical_alias", "m.room.encryption", "m.room.topic")


class DeviceSyncSource(Protocol):
    """Per-device data (to-device messages, device lists, one-time key counts)."""

    async def sync_section(self, user_id: str, device_id: str, since: int | None,
                           upto: int) -> DeviceSection: ...

    async def ack_to_device(self, user_id: str, device_id: str, upto: int) -> None: ...


UnreadCounts = Callable[[str, str], Awaitable[tuple[int, int]]]
#: Global account data another service computes (user, since, upto) → events.
AccountDataSource = Callable[[str, int | None, int], Awaitable[list[dict[str, Any]]]]


def parse_since(token: str | None) -> int | None:
    if token is None or token == "":
        return None
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise errors.invalid_param(f"Invalid since token {token!r}")
    return int(match.group(1))


@dataclass(frozen=True)
class SyncRequest:
    user_id: str
    device_id: str
    since: int | None
    filter: Filter
    full_state: bool = False
    timeout_ms: int = 0
    set_presence: str | None = None


@dataclass
class _Window:
    request: SyncRequest
    since: int | None
    upto: int
    now: int
    joined_now: list[str] = field(default_factory=list)
    #: Users who came to share a room with the requester in the window.
    newly_shared: set[str] = field(default_factory=set)
    ignore: IgnoreView = field(default_factory=IgnoreView)

    @property
    def device(self) -> tuple[str, str]:
        return self.request.user_id, self.request.device_id


class SyncService:
    def __init__(self, storage: Storage, notifier: Notifier, aggregator: Aggregator,
                 receipts: ReceiptService, typing: TypingService,
                 presence: PresenceService, *, devices: DeviceSyncSource,
                 unread_counts: UnreadCounts,
                 account_data_sources: Sequence[AccountDataSource] = ()) -> None:
        """``devices`` gives the per-device sections, ``unread_counts`` each room's
        notification counts, ``account_data_sources`` global account data other services
        compute (e.g. ``m.push_rules``)."""
        self._storage = storage
        self._notifier = notifier
        self._aggregator = aggregator
        self._receipts = receipts
        self._typing = typing
        self._presence = presence
        self._devices = devices
        self._unread = unread_counts
        self._extra_account_data = list(account_data_sources)
        self._state_section = StateSection(storage)

    async def sync(self, request: SyncRequest) -> SyncResponse:
        if request.set_presence != "offline" or request.since is None:
            await self._presence.on_sync(request.user_id, request.set_presence)
        if request.since is None:
            self._state_section.start_over((request.user_id, request.device_id))
        else:
            await self._devices.ack_to_device(request.user_id, request.device_id,
                                              request.since)
        upto = await self._storage.stream_upto()
        if request.since is not None and request.since > upto:
            # A token from the future (another process's, or a restored backup): wait for
            # it rather than replaying or skipping anything.
            upto = request.since
        body, empty = await self._build(request, upto)
        timeout = min(max(request.timeout_ms, 0), MAX_TIMEOUT_MS) / 1000
        if request.since is None or request.full_state or not empty or timeout <= 0:
            return body
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return body
            rooms = [m.room_id for m in await self._storage.state.rooms_of_user(
                request.user_id, ["join"])]
            last = upto

            async def moved(last: int = last) -> bool:
                return await self._storage.stream_upto() > last

            await self._notifier.wait(request.user_id, rooms, remaining, ready=moved)
            upto = max(upto, await self._storage.stream_upto())
            if upto == last:
                continue
            body, empty = await self._build(request, upto)
            if not empty:
                return body

    async def _build(self, request: SyncRequest, upto: int) -> tuple[SyncResponse, bool]:
        since = None if request.full_state else request.since
        window = _Window(request, request.since, upto, now_ms())
        window.ignore = await ignore_view(self._storage, request.user_id, request.since, upto)
        changed = await self._storage.account_data.changed(request.user_id, request.since,
                                                           upto)
        rooms = await self._rooms(window, since, _by_room(changed))
        account_data = await self._global_account_data(window, changed)
        joined = window.joined_now
        presence = await self._presence.sync_events(request.user_id, joined, request.since,
                                                    upto, window.newly_shared)
        presence = [e for e in presence if request.filter.presence.allows(e)]
        device = await self._devices.sync_section(request.user_id, request.device_id,
                                                  request.since, upto)
        body = SyncResponse(
            f"s{upto}", rooms, Events(account_data), Events(presence), device.to_device,
            device.device_lists, device.device_one_time_keys_count,
            device.device_unused_fallback_key_types)
        empty = not rooms and not account_data and not presence and not device.carries_news()
        return body, empty

    # -- account data ----------------------------------------------------------------

    async def _global_account_data(self, window: _Window, changed: list[AccountData]
                                   ) -> list[dict[str, Any]]:
        user_id = window.request.user_id
        events = [{"type": d.type, "content": d.content} for d in changed
                  if d.room_id == GLOBAL and d.content]
        for source in self._extra_account_data:
            events += await source(user_id, window.since, window.upto)
        return [e for e in events if window.request.filter.account_data.allows(e)]

    # -- rooms -----------------------------------------------------------------------

    async def _rooms(self, window: _Window, since: int | None,
                     room_account: dict[str, list[AccountData]]) -> Rooms:
        request = window.request
        room_filter = request.filter.room
        user_id = request.user_id
        current = {m.room_id: m for m in await self._storage.state.rooms_of_user(
            user_id, ["join", "invite", "knock", "leave", "ban"])}
        window.joined_now = [r for r, m in current.items() if m.membership == "join"]
        changed_membership: dict[str, tuple[Membership, int]] = {}
        was: dict[str, str] = {}
        joined_in_window: set[str] = set()
        if since is not None:
            for membership, stream in await self._storage.state.membership_changes(
                    user_id, since, window.upto):
                changed_membership[membership.room_id] = (membership, stream)
                if membership.membership == "join":
                    joined_in_window.add(membership.room_id)
            # A room is new to the client unless the user was joined at `since` (a
            # profile change is a membership event too, and resends nothing).
            was = await self._storage.state.memberships_at(
                user_id, sorted(changed_membership), since)
            window.newly_shared = set(await self._storage.state.newly_joined(
                window.joined_now, since, window.upto))
        out = Rooms()
        joined = [r for r in window.joined_now if room_filter.allows_room(r)]
        if since is None:
            active = set(joined)
        else:
            active = await self._storage.events.rooms_with_events(joined, since, window.upto)
            active |= {r for r in joined if r in changed_membership or r in room_account}
        ephemeral = await self._ephemeral(window, joined)
        active |= set(ephemeral)
        reset = await window.ignore.rooms_to_resend(self._storage, joined) \
            if since is not None else set()
        active |= reset
        for room_id in sorted(active):
            newly = since is None or (room_id in changed_membership
                                      and was.get(room_id) != "join")
            if newly and since is not None:
                window.newly_shared |= {m.user_id for m in await self._storage.state
                                        .members_at(room_id, None, ["join"])}
            room = out.join[room_id] = await self._joined_room(
                window, room_id, None if newly or room_id in reset else since, newly,
                ephemeral.get(room_id, []), room_account.get(room_id, []))
            if room_id in reset:
                room.timeline.limited = True
        for room_id, member in current.items():
            if not room_filter.allows_room(room_id):
                continue
            recent = since is None or room_id in changed_membership
            if member.membership == "invite" and recent:
                if await window.ignore.hides_invite(self._storage, member.event_id):
                    continue
                out.invite[room_id] = InvitedRoom(Events(
                    await self._stripped_state(room_id, member.event_id)))
            elif member.membership == "knock" and recent:
                out.knock[room_id] = KnockedRoom(Events(
                    await self._stripped_state(room_id, member.event_id)))
            elif member.membership in ("leave", "ban") and (
                    (since is None and room_filter.include_leave)
                    or (since is not None and room_id in changed_membership)):
                if await self._storage.rooms.is_forgotten(user_id, room_id):
                    continue
                # Joined and left in the window: new to the client (a rejected invite
                # is not: its leave is all there is to send).
                newly = since is None or (room_id in joined_in_window
                                          and was.get(room_id) != "join")
                out.leave[room_id] = await self._left_room(
                    window, room_id, None if newly else since, member,
                    room_account.get(room_id, []))
        return out

    async def _ephemeral(self, window: _Window, rooms: list[str]
                         ) -> dict[str, list[dict[str, Any]]]:
        event_filter = window.request.filter.room.ephemeral
        out: dict[str, list[dict[str, Any]]] = {}
        typing = await self._typing.sync_events(rooms, window.since, window.upto)
        receipts = await self._receipts.sync_events(window.request.user_id, rooms,
                                                    window.since, window.upto)
        for source in (typing, receipts):
            for room_id, event in source.items():
                if event_filter.allows(event):
                    out.setdefault(room_id, []).append(event)
        return out

    async def _joined_room(self, window: _Window, room_id: str, since: int | None,
                           newly: bool, ephemeral: list[dict[str, Any]],
                           account: list[AccountData]) -> JoinedRoom:
        user_id = window.request.user_id
        sections, timeline, state = await self._timeline_and_state(
            window, room_id, since, window.upto, account)
        notifications, highlights = await self._unread(user_id, room_id)
        room = JoinedRoom(timeline=sections.timeline, state=sections.state,
                          account_data=sections.account_data, ephemeral=Events(ephemeral),
                          unread_notifications=UnreadNotifications(notifications, highlights))
        if newly or any(e.type == "m.room.member" for e in (*timeline, *state)):
            room.summary = await self._summary(room_id, user_id)
        return room

    async def _left_room(self, window: _Window, room_id: str, since: int | None,
                         member: Membership, account: list[AccountData]) -> LeftRoom:
        """A room the user left: its timeline up to (and including) the leave."""
        leave = await self._storage.events.get(member.event_id)
        upto = leave.stream_ordering if leave is not None else window.upto
        body, _, _ = await self._timeline_and_state(window, room_id, since, upto, account)
        return body

    async def _timeline_and_state(self, window: _Window, room_id: str, since: int | None,
                                  upto: int, account: list[AccountData]
                                  ) -> tuple[LeftRoom, list[StoredEvent], list[StoredEvent]]:
        """A room's ``timeline``, ``state`` and ``account_data`` over (since, upto] (all a
        left room has; ``since`` None for a room new to the client), and the timeline's
        and state's events."""
        room_filter = window.request.filter.room
        visibility = await room_visibility(self._storage, window.request.user_id, room_id)
        timeline, limited = await self._timeline(room_filter.timeline, room_id, since, upto,
                                                 visibility, window.ignore)
        state = await self._state_section.events(
            window.device, room_id, since=since, upto=upto, timeline=timeline,
            state_filter=room_filter.state)
        sections = LeftRoom(
            Timeline(await self._render(window, timeline, visibility), limited,
                     await self._prev_batch(room_id, timeline, upto)),
            Events([self._format(window, client_event(e, None, window.now)) for e in state]),
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

    async def _render(self, window: _Window, events: list[StoredEvent],
                      visibility: Visibility) -> list[dict[str, Any]]:
        request = window.request
        if request.filter.event_format == "federation":
            served = await as_served(self._storage, visibility, events)
            return [self._format(window, dict(e.pdu)) for e in served]
        rendered = await self._aggregator.client_events(
            events, (request.user_id, request.device_id), visibility, window.now)
        return [self._format(window, e) for e in rendered]

    @staticmethod
    def _format(window: _Window, event: dict[str, Any]) -> dict[str, Any]:
        fields = window.request.filter.event_fields
        return event if fields is None else select_fields(event, fields)

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

    async def _stripped_state(self, room_id: str, member_event_id: str) -> list[dict[str, Any]]:
        """The room's stripped state, the invite or knock itself, and the member event of
        whoever sent it (a client names a DM after the inviter, as on Synapse)."""
        member = await self._storage.events.get(member_event_id)
        keys = [(t, "") for t in STRIPPED_TYPES]
        if member is not None:
            keys.append(("m.room.member", member.sender))
        ids = await self._storage.state.current_ids(room_id, keys)
        events = await self._storage.events.get_many([*ids.values(), member_event_id])
        return [{"type": e.type, "state_key": e.state_key, "content": e.content,
                 "sender": e.sender} for e in events.values()]


def _by_room(data: list[AccountData]) -> dict[str, list[AccountData]]:
    out: dict[str, list[AccountData]] = {}
    for d in data:
        if d.room_id != GLOBAL:
            out.setdefault(d.room_id, []).append(d)
    return out
