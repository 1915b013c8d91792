"""``/sync``: everything new for one device since a token, long-polling until there is.

A token is ``s<position>``: every durable stream (room events, account data, receipts,
typing, presence, to-device, device lists) takes its positions from one counter, so one
number says "everything up to here". A response covers (since, upto], where ``upto`` is a
position below which every write has committed (``Storage.stream_upto``).

This module decides which rooms a response carries (joined, invited, knocked, left) and
from which position, and gathers what is not per room (account data, presence, the
device's sections); :mod:`glia.services.sync_room` builds each room's entry.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from glia import errors
from glia.clock import now_ms
from glia.protocol.filters import Filter
from glia.services.ignored_users import IgnoreView, ignore_view
from glia.services.notifier import Notifier
from glia.services.presence import PresenceService
from glia.services.receipts import ReceiptService
from glia.services.relations import Aggregator
from glia.services.sync_response import (
    DeviceSection,
    Events,
    InvitedRoom,
    KnockedRoom,
    Rooms,
    SyncResponse,
)
from glia.services.sync_room import RoomSection, RoomWindow, UnreadCounts
from glia.services.sync_state import StateSection
from glia.services.typing import TypingService
from glia.storage import Storage
from glia.storage.account_data import GLOBAL, AccountData
from glia.storage.state import Membership

MAX_TIMEOUT_MS = 5 * 60_000
#: Up to this many stream positions since the token, the rooms with new events are
#: found from the window itself; a longer window asks about the user's rooms.
RECENT_WINDOW = 10_000
#: Up to this many positions since the token, a window of others' events is told from
#: the events themselves (:meth:`SyncService._nothing_for`).
QUICK_WINDOW = 200
_TOKEN = re.compile(r"s([0-9]{1,18})(?:_\S*)?")


class DeviceSyncSource(Protocol):
    """Per-device data (to-device messages, device lists, one-time key counts)."""

    async def sync_section(self, user_id: str, device_id: str, since: int | None,
                           upto: int) -> DeviceSection: ...

    async def ack_to_device(self, user_id: str, device_id: str, upto: int) -> None: ...


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
    #: What each room's entry is built against (upto, time, ignored users).
    rooms: RoomWindow
    joined_now: list[str] = field(default_factory=list)
    #: Users who came to share a room with the requester in the window.
    newly_shared: set[str] = field(default_factory=set)

    @property
    def upto(self) -> int:
        return self.rooms.upto

    @property
    def ignore(self) -> IgnoreView:
        return self.rooms.ignore


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
        self._receipts = receipts
        self._typing = typing
        self._presence = presence
        self._devices = devices
        self._extra_account_data = list(account_data_sources)
        self._state_section = StateSection(storage)
        self._room = RoomSection(storage, aggregator, unread_counts, self._state_section)

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
        timeout = min(max(request.timeout_ms, 0), MAX_TIMEOUT_MS) / 1000
        if request.since is None or request.full_state or timeout <= 0:
            return (await self._build(request, upto))[0]
        body = await self._news(request, upto)
        if body is not None:
            return body
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return (await self._build(request, upto))[0]
            last = upto

            async def moved(last: int = last) -> bool:
                return await self._storage.stream_upto() > last

            await self._notifier.wait(request.user_id, remaining, ready=moved)
            upto = max(upto, await self._storage.stream_upto())
            if upto == last:
                continue
            body = await self._news(request, upto)
            if body is not None:
                return body

    async def _news(self, request: SyncRequest, upto: int) -> SyncResponse | None:
        """An incremental response over (since, upto] if it carries anything. A
        long-poll re-issued right after the previous answer usually finds nothing, or
        only others' events: told cheaply, without building a response."""
        assert request.since is not None
        if await self._nothing_for(request.user_id, request.since, upto):
            return None
        body, empty = await self._build(request, upto)
        return None if empty else body

    async def _build(self, request: SyncRequest, upto: int) -> tuple[SyncResponse, bool]:
        since = None if request.full_state else request.since
        now = now_ms()
        ignore = await ignore_view(self._storage, request.user_id, request.since, upto)
        window = _Window(request, request.since, RoomWindow(
            request.user_id, request.device_id, request.filter, upto, now, ignore))
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

    async def _nothing_for(self, user_id: str, since: int, upto: int) -> bool:
        """Whether (since, upto] certainly holds nothing for the user: a short window
        whose every position is an event (so no account data, receipt, typing, presence,
        to-device or device-list write), in rooms the user is not joined to, none of them
        about its membership. Many clients long-polling while others' rooms are busy
        re-poll into such windows; this answers them with two queries instead of
        building a response. Anything else (a gap in the positions too) builds one."""
        if upto <= since:
            return True
        if upto - since > QUICK_WINDOW:
            return False
        events = await self._storage.events.window_summary(since, upto)
        if len(events) != upto - since:
            return False
        joined = {m.room_id for m in await self._storage.state.rooms_of_user(
            user_id, ["join"])}
        return not any(room_id in joined or (kind == "m.room.member" and key == user_id)
                       for room_id, kind, key in events)

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
            active = await self._changed_rooms(joined, since, window.upto)
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
            room = out.join[room_id] = await self._room.joined(
                window.rooms, room_id, None if newly or room_id in reset else since, newly,
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
                    await self._room.stripped_state(room_id, member.event_id)))
            elif member.membership == "knock" and recent:
                out.knock[room_id] = KnockedRoom(Events(
                    await self._room.stripped_state(room_id, member.event_id)))
            elif member.membership in ("leave", "ban") and (
                    (since is None and room_filter.include_leave)
                    or (since is not None and room_id in changed_membership)):
                if await self._storage.rooms.is_forgotten(user_id, room_id):
                    continue
                # Joined and left in the window: new to the client (a rejected invite
                # is not: its leave is all there is to send).
                newly = since is None or (room_id in joined_in_window
                                          and was.get(room_id) != "join")
                out.leave[room_id] = await self._room.left(
                    window.rooms, room_id, None if newly else since, member,
                    room_account.get(room_id, []))
        return out

    async def _changed_rooms(self, joined: list[str], since: int, upto: int) -> set[str]:
        """Which joined rooms have events in (since, upto]. A long-poll's window is short:
        read the rooms written in it (O(events in the window)) and keep the joined ones;
        a client back after a long time asks about its rooms instead."""
        if upto - since <= RECENT_WINDOW:
            return set(joined) & await self._storage.events.rooms_in_window(since, upto)
        return await self._storage.events.rooms_with_events(joined, since, upto)

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


def _by_room(data: list[AccountData]) -> dict[str, list[AccountData]]:
    out: dict[str, list[AccountData]] = {}
    for d in data:
        if d.room_id != GLOBAL:
            out.setdefault(d.room_id, []).append(d)
    return out
