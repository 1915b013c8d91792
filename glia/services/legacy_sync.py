"""The endpoints ``/sync`` replaced, still called by older clients and bridges (the
spec keeps them, deprecated): ``GET /events`` (the event stream, and peeking into one
room with ``room_id``), ``GET /initialSync``, ``GET /rooms/{roomId}/initialSync`` and
``GET /events/{eventId}``.

They read through the same rules as everything else: history visibility (which also
lets anyone peek into a ``world_readable`` room), the timeline's ``/messages`` pages,
and stream tokens shared with ``/sync`` (``s<position>``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.ids import is_valid_event_id
from glia.services.event_format import ClientEvent, client_event
from glia.services.notifier import Notifier
from glia.services.presence import PresenceService
from glia.services.relations import Aggregator
from glia.services.sync import MAX_TIMEOUT_MS, parse_since
from glia.services.timeline import TimelineService
from glia.services.tokens import Position
from glia.services.visibility import Visibility, room_visibility
from glia.storage import Storage
from glia.storage.account_data import GLOBAL
from glia.storage.events import StoredEvent
from glia.storage.state import Membership

#: Most events one ``/events`` answer carries (the rest come with the next call).
STREAM_LIMIT = 100
DEFAULT_TIMEOUT_MS = 30_000  # Synapse's default for /events
DEFAULT_MESSAGES = 10


class EventStreamPage(msgspec.Struct):
    chunk: list[ClientEvent]
    start: str
    end: str


class RoomMessages(msgspec.Struct, omit_defaults=True):
    chunk: list[ClientEvent]
    end: str
    #: Only when earlier events may exist.
    start: str | UnsetType = UNSET


class RoomInfo(msgspec.Struct, omit_defaults=True):
    """One room of ``/initialSync`` (and the answer of ``/rooms/{roomId}/initialSync``,
    which adds the members' ``presence``)."""

    room_id: str
    membership: str | UnsetType = UNSET
    invite: ClientEvent | UnsetType = UNSET
    messages: RoomMessages | UnsetType = UNSET
    state: list[ClientEvent] | UnsetType = UNSET
    visibility: str | UnsetType = UNSET
    account_data: list[dict[str, Any]] | UnsetType = UNSET
    presence: list[dict[str, Any]] | UnsetType = UNSET


class InitialSync(msgspec.Struct):
    end: str
    rooms: list[RoomInfo]
    presence: list[dict[str, Any]]
    account_data: list[dict[str, Any]]


@dataclass(frozen=True)
class Reader:
    user_id: str
    device_id: str

    @property
    def viewer(self) -> tuple[str, str]:
        return self.user_id, self.device_id


class LegacySyncService:
    def __init__(self, storage: Storage, notifier: Notifier, timeline: TimelineService,
                 presence: PresenceService, aggregator: Aggregator) -> None:
        self._storage = storage
        self._notifier = notifier
        self._timeline = timeline
        self._presence = presence
        self._aggregator = aggregator

    # -- GET /events ---------------------------------------------------------------------

    async def events(self, reader: Reader, from_token: str | None, timeout_ms: int | None,
                     room_id: str | None) -> EventStreamPage:
        """Events after ``from_token`` (now, when absent) in the reader's rooms, or in
        ``room_id`` alone (which may be a ``world_readable`` room the reader is not in:
        peeking), waiting up to ``timeout_ms`` for some."""
        since = parse_since(from_token)
        upto = await self._storage.stream_upto()
        since = upto if since is None else min(since, upto)
        if room_id is not None:
            views = {room_id: await room_visibility(self._storage, reader.user_id, room_id)}
        else:
            views = {}
            for m in await self._storage.state.rooms_of_user(reader.user_id, ["join"]):
                views[m.room_id] = await room_visibility(self._storage, reader.user_id,
                                                         m.room_id)
        timeout = min(max(DEFAULT_TIMEOUT_MS if timeout_ms is None else timeout_ms, 0),
                      MAX_TIMEOUT_MS) / 1000
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            chunk, end = await self._stream(reader, views, since, upto)
            remaining = deadline - asyncio.get_running_loop().time()
            if chunk or remaining <= 0:
                return EventStreamPage(chunk, f"s{since}", f"s{end}")
            last = upto

            async def moved(last: int = last) -> bool:
                return await self._storage.stream_upto() > last

            await self._notifier.wait(reader.user_id, remaining, ready=moved, rooms=list(views))
            upto = max(upto, await self._storage.stream_upto())

    async def _stream(self, reader: Reader, views: dict[str, Visibility], since: int,
                      upto: int) -> tuple[list[ClientEvent], int]:
        """The first ``STREAM_LIMIT`` visible events in (since, upto] across the rooms,
        in stream order, and the position the next call starts from."""
        active = await self._storage.events.rooms_with_events(list(views), since, upto)
        found: list[tuple[StoredEvent, Visibility]] = []
        for room_id in sorted(active):
            page = await self._storage.events.stream_after(room_id, since, upto,
                                                           STREAM_LIMIT + 1)
            found += [(e, views[room_id]) for e in page if views[room_id].visible(e)]
        found.sort(key=lambda pair: pair[0].stream_ordering)
        end = upto
        if len(found) > STREAM_LIMIT:
            found = found[:STREAM_LIMIT]
            end = found[-1][0].stream_ordering
        chunk = []
        for event, view in found:
            chunk += await self._aggregator.client_events([event], reader.viewer, view)
        return chunk, end

    # -- GET /events/{eventId} -------------------------------------------------------------

    async def event(self, reader: Reader, event_id: str) -> ClientEvent:
        if not is_valid_event_id(event_id):
            raise errors.invalid_param(f"{event_id} is not a legal event ID")
        event = await self._storage.events.get(event_id)
        if event is None:
            raise errors.not_found("Event not found.")
        return await self._timeline.event(reader.user_id, reader.device_id, event.room_id,
                                          event_id)

    # -- GET /initialSync and /rooms/{roomId}/initialSync ----------------------------------

    async def initial_sync(self, reader: Reader, limit: int | None,
                           archived: bool) -> InitialSync:
        upto = await self._storage.stream_upto()
        memberships = ["join", "invite", *(("leave", "ban") if archived else ())]
        mine = await self._storage.state.rooms_of_user(reader.user_id, memberships)
        account = await self._storage.account_data.all_of_user(reader.user_id)
        rooms = [await self._room(reader, m.room_id, m, limit) for m in mine
                 if not (m.membership in ("leave", "ban") and
                         await self._storage.rooms.is_forgotten(reader.user_id, m.room_id))]
        joined = [m.room_id for m in mine if m.membership == "join"]
        presence = await self._presence.sync_events(reader.user_id, joined, None, upto, set())
        return InitialSync(
            f"s{upto}", rooms, presence,
            [{"type": d.type, "content": d.content} for d in account
             if d.room_id == GLOBAL and d.content])

    async def room_initial_sync(self, reader: Reader, room_id: str,
                                limit: int | None) -> RoomInfo:
        """One room as ``/initialSync`` shows it, with its members' presence; also for
        a ``world_readable`` room the reader is not in (peeking)."""
        await room_visibility(self._storage, reader.user_id, room_id)  # 403 / 404
        member = await self._storage.state.membership_of(room_id, reader.user_id)
        info = await self._room(reader, room_id, member, limit)
        info.presence = await self._presence.sync_events(
            reader.user_id, [room_id], None, await self._storage.stream_upto(), set())
        return info

    async def _room(self, reader: Reader, room_id: str, member: Membership | None,
                    limit: int | None) -> RoomInfo:
        info = RoomInfo(room_id)
        if member is not None:
            info.membership = member.membership
        if member is not None and member.membership == "invite":
            invite = await self._storage.events.get(member.event_id)
            if invite is not None:
                info.invite = client_event(invite, None)
            return info
        # A room left (or banned from) is shown as it was when the reader left it.
        gone = member is not None and member.membership in ("leave", "ban")
        until = await self._storage.events.get(member.event_id) if gone and member else None
        page = await self._timeline.messages(
            reader.user_id, reader.device_id, room_id,
            from_token=Position(until.depth, until.stream_ordering + 1).token()
            if until is not None else None,
            to_token=None, backwards=True,
            limit=DEFAULT_MESSAGES if limit is None else limit)
        messages = RoomMessages(list(reversed(page.chunk)), page.start)
        if page.end is not UNSET:
            messages.start = page.end
        info.messages = messages
        state_ids = await self._storage.state.ids_at(
            room_id, until.stream_ordering if until is not None else None)
        state = await self._storage.events.get_many(list(state_ids.values()))
        info.state = [client_event(e, None) for e in
                      sorted(state.values(), key=lambda e: e.stream_ordering)]
        room = await self._storage.rooms.get(room_id)
        info.visibility = "public" if room is not None and room.published else "private"
        account = await self._storage.account_data.all_of_user(reader.user_id)
        info.account_data = [{"type": d.type, "content": d.content} for d in account
                             if d.room_id == room_id and d.content]
        return info
