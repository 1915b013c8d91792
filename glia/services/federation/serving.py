"""The read-only room endpoints other servers call: one event, the state at an event
(whole or as IDs), an event's auth chain, backfill, missing events and the event
closest to a time. The origin was authenticated before this runs.

Every request names a room; before anything is read the room must exist (``404``), not
be blocked by an admin (``403``), and let the origin in by its ``m.room.server_acl``
(``403``). What the origin may see is :class:`ServerVisibility`'s: a server that never
had a user in the room, in a room that was never world-readable, is refused outright
(``403``). Then an event the origin may see is served as it is (redacted if its sender
was erased and none of the origin's users was joined when it was sent); one it may not
see is served redacted to a server with a user joined now (it needs the event to follow
the graph, as Synapse does), and refused (``/event``) or left out (``/backfill``,
``/get_missing_events``) for any other server.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec

from glia import errors
from glia.clock import Clock
from glia.ids import is_valid_event_id, is_valid_room_id
from glia.protocol.canonical_json import SAFE_INT_MAX, SAFE_INT_MIN
from glia.protocol.events import JsonDict, auth_event_ids, prev_event_ids
from glia.services.federation.acl import RoomAcls
from glia.services.spaces import InRoom, ServerHierarchy, SpacesService
from glia.services.visibility import (
    ServerVisibility,
    erased_for,
    redacted,
    server_visibility,
)
from glia.storage import Storage
from glia.storage.events import StoredEvent
from glia.storage.rooms import Room

#: Most events one backfill answers (Synapse's cap); a larger limit is lowered to it.
MAX_BACKFILL = 100
#: Most events one get_missing_events answers; a larger limit is lowered to it.
MAX_MISSING = 50
#: Most event IDs a request may start from (``v``, ``latest_events``, ``earliest_events``).
MAX_START_EVENTS = 100
#: How many events around a timestamp are tried for one the origin may see.
TIMESTAMP_CANDIDATES = 50
#: Event IDs per query when reading a room's whole state or auth chain (thousands of
#: members make thousands of IDs; SQLite limits a statement's parameters).
BATCH = 500

EventIds = Annotated[list[str], msgspec.Meta(max_length=MAX_START_EVENTS)]
Depth = Annotated[int, msgspec.Meta(ge=SAFE_INT_MIN, le=SAFE_INT_MAX)]
Limit = Annotated[int, msgspec.Meta(ge=0, le=SAFE_INT_MAX)]


class MissingEventsQuery(msgspec.Struct):
    """``POST /get_missing_events/{roomId}``."""

    earliest_events: EventIds
    latest_events: EventIds
    limit: Limit = 10
    min_depth: Depth = 0


class Transaction(msgspec.Struct, frozen=True):
    """What ``/event`` and ``/backfill`` answer: PDUs in a transaction from us."""

    origin: str
    origin_server_ts: int
    pdus: list[JsonDict]


class RoomState(msgspec.Struct, frozen=True):
    pdus: list[JsonDict]
    auth_chain: list[JsonDict]


class RoomStateIds(msgspec.Struct, frozen=True):
    pdu_ids: list[str]
    auth_chain_ids: list[str]


class AuthChain(msgspec.Struct, frozen=True):
    auth_chain: list[JsonDict]


class MissingEvents(msgspec.Struct, frozen=True):
    events: list[JsonDict]


class ClosestEvent(msgspec.Struct, frozen=True):
    event_id: str
    origin_server_ts: int


@dataclass(frozen=True)
class _Access:
    room: Room
    view: ServerVisibility


class FederationServing:
    def __init__(self, server_name: str, storage: Storage, acls: RoomAcls,
                 spaces: SpacesService, clock: Clock) -> None:
        self._server_name = server_name
        self._storage = storage
        self._acls = acls
        self._spaces = spaces
        self._clock = clock

    # -- who may ask -------------------------------------------------------------------

    async def _room(self, origin: str, room_id: str) -> Room:
        """The room, once known, not blocked, and open to the origin by its ACL."""
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a legal room ID")
        room = await self._storage.rooms.get(room_id)
        if room is None:
            raise errors.not_found(f"Unknown room {room_id}")
        if await self._storage.admin_rooms.blocked_by(room_id) is not None:
            raise errors.forbidden("This room has been blocked on this server")
        await self._acls.check(room_id, origin)
        return room

    async def _access(self, origin: str, room_id: str) -> _Access:
        """The room and the origin's view of it, after the checks every room-scoped
        request passes (see the module's docstring)."""
        room = await self._room(origin, room_id)
        view = await server_visibility(self._storage, origin, room_id)
        if not view.may_read_room:
            raise errors.forbidden(f"Server {origin} is not in room {room_id}")
        return _Access(room, view)

    async def _event_in(self, room_id: str, event_id: str | None) -> StoredEvent:
        if not event_id:
            raise errors.missing_param("Missing string query parameter 'event_id'")
        event = await self._storage.events.get(event_id) if is_valid_event_id(event_id) \
            else None
        if event is None or event.room_id != room_id:
            raise errors.not_found(f"Could not find event {event_id}")
        return event

    async def _served(self, view: ServerVisibility, events: Sequence[StoredEvent]
                      ) -> list[StoredEvent]:
        """``events`` as the origin is served them (the module's rule), order kept."""
        visible = [e for e in events if view.visible(e)]
        if not view.participating:
            events = visible
        hidden = {e.event_id for e in events if not view.visible(e)}
        return await redacted(self._storage, events,
                              hidden | await erased_for(self._storage, view, visible))

    async def _events(self, event_ids: Sequence[str]) -> dict[str, StoredEvent]:
        """The known events among ``event_ids``, read :data:`BATCH` at a time."""
        found: dict[str, StoredEvent] = {}
        for i in range(0, len(event_ids), BATCH):
            found.update(await self._storage.events.get_many(list(event_ids[i:i + BATCH])))
        return found

    def _transaction(self, events: Iterable[StoredEvent]) -> Transaction:
        return Transaction(self._server_name, self._clock.now_ms(),
                           [e.pdu for e in events])

    # -- single events and state -------------------------------------------------------

    async def event(self, origin: str, event_id: str) -> Transaction:
        """``GET /event/{eventId}``."""
        event = await self._storage.events.get(event_id) if is_valid_event_id(event_id) \
            else None
        if event is None:
            raise errors.not_found(f"Could not find event {event_id}")
        access = await self._access(origin, event.room_id)
        if not access.view.visible(event) and not access.view.participating:
            raise errors.forbidden(f"Server {origin} may not see event {event_id}")
        return self._transaction(await self._served(access.view, [event]))

    async def _state_at(self, origin: str, room_id: str, event_id: str | None
                        ) -> tuple[list[str], dict[str, JsonDict]]:
        """The state before the event (event IDs) and its auth chain (PDUs by ID)."""
        access = await self._access(origin, room_id)
        event = await self._event_in(room_id, event_id)
        if not access.view.visible(event) and not access.view.participating:
            raise errors.forbidden(
                "You do not have permission to access the state at the requested event")
        state = await self._storage.state.ids_at(room_id, event.stream_ordering - 1)
        pdu_ids = sorted(state.values())
        return pdu_ids, await self._auth_chain(room_id, pdu_ids)

    async def state(self, origin: str, room_id: str, event_id: str | None) -> RoomState:
        """``GET /state/{roomId}?event_id=``."""
        pdu_ids, chain = await self._state_at(origin, room_id, event_id)
        found = await self._events(pdu_ids)
        return RoomState([found[i].pdu for i in pdu_ids if i in found],
                         [chain[i] for i in sorted(chain)])

    async def state_ids(self, origin: str, room_id: str, event_id: str | None
                        ) -> RoomStateIds:
        """``GET /state_ids/{roomId}?event_id=``."""
        pdu_ids, chain = await self._state_at(origin, room_id, event_id)
        return RoomStateIds(pdu_ids, sorted(chain))

    async def event_auth(self, origin: str, room_id: str, event_id: str) -> AuthChain:
        """``GET /event_auth/{roomId}/{eventId}``: the event's auth chain."""
        access = await self._access(origin, room_id)
        event = await self._event_in(room_id, event_id)
        if not access.view.visible(event) and not access.view.participating:
            raise errors.forbidden(f"Server {origin} may not see event {event_id}")
        chain = await self._auth_chain(room_id, [event.event_id])
        return AuthChain([chain[i] for i in sorted(chain)])

    async def _auth_chain(self, room_id: str, start: Sequence[str]) -> dict[str, JsonDict]:
        """Every auth event of ``start``'s events, recursively (one query per level of
        the chain), by ID: stored events and the room's outliers (auth events we
        fetched to authorise a received event, which the asking server may lack just as
        we did); a start event is in it only as another's auth event."""
        seen: set[str] = set()
        chain: dict[str, JsonDict] = {}
        frontier = list(dict.fromkeys(start))
        while frontier:
            found = {i: e.pdu for i, e in (await self._events(frontier)).items()}
            rest = [i for i in frontier if i not in found]
            for i in range(0, len(rest), BATCH):
                found.update(await self._storage.federation_queue.outliers(
                    room_id, rest[i:i + BATCH]))
            chain.update({i: pdu for i, pdu in found.items() if i in seen})
            frontier = [auth_id for pdu in found.values()
                        for auth_id in auth_event_ids(pdu) if auth_id not in seen]
            frontier = list(dict.fromkeys(frontier))
            seen.update(frontier)
        return chain

    # -- history -----------------------------------------------------------------------

    async def _start(self, access: _Access, event_ids: Sequence[str]) -> list[StoredEvent]:
        """The known events of the room among ``event_ids``; ``404`` if none is."""
        wanted = [i for i in dict.fromkeys(event_ids) if is_valid_event_id(i)]
        found = await self._storage.events.get_many(wanted)
        events = [found[i] for i in wanted
                  if i in found and found[i].room_id == access.room.room_id]
        if not events:
            raise errors.not_found("None of the given events is known in this room")
        return events

    async def backfill(self, origin: str, room_id: str, start_ids: Sequence[str],
                       limit: int) -> Transaction:
        """``GET /backfill/{roomId}?v=…&limit=``: the given events and those before
        them, walking ``prev_events`` newest first by depth, at most ``limit``."""
        access = await self._access(origin, room_id)
        if not start_ids:
            raise errors.missing_param("Missing required query parameter v")
        if len(start_ids) > MAX_START_EVENTS:
            raise errors.invalid_param(f"At most {MAX_START_EVENTS} events may be given")
        limit = min(limit, MAX_BACKFILL)
        start = await self._start(access, start_ids)
        heap = [(-e.depth, -e.stream_ordering, e.event_id) for e in start]
        heapq.heapify(heap)
        queued = {e.event_id for e in start}
        known = {e.event_id: e for e in start}
        out: list[StoredEvent] = []
        while heap and len(out) < limit:
            _, _, event_id = heapq.heappop(heap)
            event = known.pop(event_id)
            out.append(event)
            prev = [i for i in prev_event_ids(event.pdu) if i not in queued]
            for found in (await self._events(prev)).values():
                if found.room_id == room_id:
                    queued.add(found.event_id)
                    known[found.event_id] = found
                    heapq.heappush(heap, (-found.depth, -found.stream_ordering,
                                          found.event_id))
        return self._transaction(await self._served(access.view, out))

    async def missing_events(self, origin: str, room_id: str,
                             query: MissingEventsQuery) -> MissingEvents:
        """``POST /get_missing_events/{roomId}``: a breadth-first walk of the
        ``prev_events`` of ``latest_events``, skipping ``earliest_events`` and events
        below ``min_depth``, at most ``limit`` events, oldest first."""
        access = await self._access(origin, room_id)
        limit = min(query.limit, MAX_MISSING)
        latest = await self._start(access, query.latest_events)
        seen = {*query.earliest_events, *(e.event_id for e in latest)}
        front = latest
        out: list[StoredEvent] = []
        while front and len(out) < limit:
            wanted = [i for e in front for i in prev_event_ids(e.pdu) if i not in seen]
            wanted = list(dict.fromkeys(wanted))
            seen.update(wanted)
            found = await self._events(wanted)
            front = [found[i] for i in wanted if i in found
                     and found[i].room_id == room_id and found[i].depth >= query.min_depth]
            front = front[:limit - len(out)]
            out.extend(front)
        out.reverse()
        return MissingEvents([e.pdu for e in await self._served(access.view, out)])

    async def closest_event(self, origin: str, room_id: str, ts: int,
                            direction: Literal["f", "b"]) -> ClosestEvent:
        """``GET /timestamp_to_event/{roomId}?ts=&dir=``: the origin-visible event
        nearest ``ts`` in that direction."""
        access = await self._access(origin, room_id)
        for event in await self._storage.events.closest_by_ts(
                room_id, ts, direction == "f", TIMESTAMP_CANDIDATES):
            if access.view.visible(event):
                return ClosestEvent(event.event_id, int(event.pdu["origin_server_ts"]))
        way = "forward" if direction == "f" else "backward"
        raise errors.not_found(f"Unable to find event from {ts} in {way} direction")

    # -- spaces ------------------------------------------------------------------------

    async def hierarchy(self, origin: str, room_id: str, suggested_only: bool
                        ) -> ServerHierarchy:
        """``GET /hierarchy/{roomId}``: the space and the children the origin could
        peek or join (the client walk's rules, judged by the origin's users)."""
        await self._room(origin, room_id)
        found = await self._spaces.server_hierarchy(
            room_id, self._server_in_room(origin), suggested_only=suggested_only)
        # A child that is blocked here or whose ACL denies the origin is one it cannot
        # join through us: named, not described.
        children, closed = [], []
        for child in found.children:
            if await self._storage.admin_rooms.blocked_by(child.room_id) is not None or \
                    not await self._acls.allowed(child.room_id, origin):
                closed.append(child.room_id)
            else:
                children.append(child)
        return ServerHierarchy(found.room, children, found.inaccessible_children + closed)

    def _server_in_room(self, server_name: str) -> InRoom:
        async def in_room(room_id: str, memberships: tuple[str, ...]) -> bool:
            users = await self._storage.server_memberships.intervals(room_id, server_name)
            return any(m[-1].to_stream is None and m[-1].membership in memberships
                       for m in users.values() if m)
        return in_room
