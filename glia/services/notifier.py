"""Wake-ups for long-polling readers (``/sync``): whoever writes something a user may want
calls :meth:`Notifier.notify` after the write committed; every waiter it concerns re-reads.

A waiter says which user it serves (and, when peeking, which rooms it watches). A
notification names the users and rooms it concerns; it wakes waiters of those users, of
the rooms' local joined members, and those watching the rooms. The rooms' members come
from :class:`RoomMembers`, an in-memory index kept current by the membership events the
event-write pipeline hands to :class:`RoomEventWakeups`, so a wake costs no query and
touches only the room's members (or the waiting users, if fewer). Waking is cheap and may
be spurious: a woken reader re-reads the database and waits again if nothing it can see
changed. Across processes, a publisher (PostgreSQL ``LISTEN/NOTIFY``) forwards each
notification, with its membership changes, to the other processes' notifiers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from glia.services.event_fanout import WrittenEvent
from glia.storage import Storage

#: The PostgreSQL channel wake-ups travel on between processes.
CHANNEL = "glia_wake"
#: NOTIFY payloads must stay under 8000 bytes; larger notifications are split.
MAX_PAYLOAD = 7000


@dataclass(frozen=True)
class MemberChange:
    """A local user's membership of a room changed at ``stream``: joined or not."""

    room_id: str
    user_id: str
    stream: int
    joined: bool


#: Forwards a notification to other processes (users, rooms, membership changes).
Publisher = Callable[[list[str], list[str], list[MemberChange]], Awaitable[None]]


class RoomMembers:
    """Room → local joined users, in memory. A room is loaded from the database the first
    time a wake-up concerns it; from then on the membership events of the event-write
    pipeline (this process's and, through the publisher, the others') keep it current.
    Each user's entry remembers the stream position of the event that set it, so changes
    applied out of order (two writers' subscribers, a retried one) keep the newest."""

    def __init__(self, storage: Storage, server_name: str) -> None:
        self._storage = storage
        self._suffix = ":" + server_name
        #: room → user → (stream of the membership event, joined); -1: as loaded.
        self._rooms: dict[str, dict[str, tuple[int, bool]]] = {}
        #: Rooms being loaded, and the changes that arrived meanwhile.
        self._loading: dict[str, list[MemberChange]] = {}
        self._loaded: dict[str, asyncio.Future[None]] = {}

    def is_local(self, user_id: str) -> bool:
        return user_id.endswith(self._suffix)

    def apply(self, changes: Iterable[MemberChange]) -> None:
        for change in changes:
            pending = self._loading.get(change.room_id)
            if pending is not None:
                pending.append(change)
            users = self._rooms.get(change.room_id)
            if users is not None:
                _set(users, change)

    def cached(self, room_id: str) -> dict[str, tuple[int, bool]] | None:
        return self._rooms.get(room_id)

    async def members(self, room_id: str) -> dict[str, tuple[int, bool]]:
        """The room's local users (joined ones have ``True``), loading it if needed."""
        users = self._rooms.get(room_id)
        if users is not None:
            return users
        loading = self._loaded.get(room_id)
        if loading is None:
            loading = self._loaded[room_id] = asyncio.ensure_future(self._load(room_id))
        await asyncio.shield(loading)
        return self._rooms[room_id]

    async def _load(self, room_id: str) -> None:
        pending = self._loading[room_id] = []
        try:
            joined = await self._storage.state.members_at(room_id, None, ["join"])
            users = {m.user_id: (-1, True) for m in joined if self.is_local(m.user_id)}
            for change in pending:  # written while the query ran: may be newer
                _set(users, change)
            self._rooms[room_id] = users
        finally:
            del self._loading[room_id]
            del self._loaded[room_id]


def _set(users: dict[str, tuple[int, bool]], change: MemberChange) -> None:
    seen = users.get(change.user_id)
    if seen is None or seen[0] <= change.stream:
        users[change.user_id] = (change.stream, change.joined)


@dataclass(eq=False)
class _Waiter:
    user_id: str
    rooms: frozenset[str]
    event: asyncio.Event = field(default_factory=asyncio.Event)


class Notifier:
    def __init__(self, members: RoomMembers | None = None) -> None:
        """Without ``members`` (tests of one service), a room wakes only the waiters
        that watch it explicitly."""
        self._members = members
        self._by_user: dict[str, set[_Waiter]] = {}
        self._by_room: dict[str, set[_Waiter]] = {}
        self._publishers: list[Publisher] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def add_publisher(self, publisher: Publisher) -> None:
        self._publishers.append(publisher)

    async def notify(self, users: Iterable[str] = (), rooms: Iterable[str] = (),
                     members: Sequence[MemberChange] = ()) -> None:
        """Something committed that concerns ``users`` and the members of ``rooms``;
        ``members`` are the local membership changes it made."""
        user_list, room_list, changes = list(users), list(rooms), list(members)
        await self.wake_local(user_list, room_list, changes)
        for publish in self._publishers:
            await publish(user_list, room_list, changes)

    async def wake_local(self, users: Iterable[str], rooms: Iterable[str],
                         members: Iterable[MemberChange] = ()) -> None:
        if self._members is not None:
            self._members.apply(members)
        for user_id in users:
            self._wake_user(user_id)
        for room_id in rooms:
            for waiter in self._by_room.get(room_id, ()):
                waiter.event.set()
            if self._members is None or not self._by_user:
                continue
            room = self._members.cached(room_id)
            if room is None:
                room = await self._members.members(room_id)
            if len(room) <= len(self._by_user):
                for user_id, (_, joined) in room.items():
                    if joined:
                        self._wake_user(user_id)
            else:
                for user_id in list(self._by_user):
                    entry = room.get(user_id)
                    if entry is not None and entry[1]:
                        self._wake_user(user_id)

    def wake_soon(self, users: list[str], rooms: list[str],
                  members: list[MemberChange]) -> None:
        """From a callback outside a coroutine (another process's notification): apply
        its membership changes now, so later notifications find them, and wake in a
        task."""
        if self._members is not None:
            self._members.apply(members)
        task = asyncio.get_running_loop().create_task(self.wake_local(users, rooms))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _wake_user(self, user_id: str) -> None:
        for waiter in self._by_user.get(user_id, ()):
            waiter.event.set()

    async def wait(self, user_id: str, timeout: float,
                   ready: Callable[[], Awaitable[bool]] | None = None,
                   rooms: Iterable[str] = ()) -> bool:
        """Wait until a notification concerns ``user_id`` (or a room it is joined to, or
        one of ``rooms``: those it peeks), or ``timeout`` seconds pass; returns whether
        one came. ``ready`` is checked after registering, so a write that committed just
        before the wait began is not missed."""
        waiter = _Waiter(user_id, frozenset(rooms))
        self._by_user.setdefault(user_id, set()).add(waiter)
        for room_id in waiter.rooms:
            self._by_room.setdefault(room_id, set()).add(waiter)
        try:
            if ready is not None and await ready():
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.event.wait(), timeout)
            return waiter.event.is_set()
        finally:
            _discard(self._by_user, user_id, waiter)
            for room_id in waiter.rooms:
                _discard(self._by_room, room_id, waiter)

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._by_user.values())


def _discard(index: dict[str, set[_Waiter]], key: str, waiter: _Waiter) -> None:
    waiters = index.get(key)
    if waiters is not None:
        waiters.discard(waiter)
        if not waiters:
            del index[key]


class RoomEventWakeups:
    """The event writer's last subscriber (after push evaluation, so a woken ``/sync``
    sees the new unread counts): wake the rooms' members, and the targets of membership
    events (an invitee is not a member yet). A spurious repeat on retry is harmless."""

    name = "notifier"
    #: Readers may see the events once the subscribers before this one have run.
    wakes_readers = True

    def __init__(self, notifier: Notifier,
                 is_local: Callable[[str], bool] | None = None) -> None:
        self._notifier = notifier
        self._local = is_local

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        members = [w.event for w in events
                   if w.event.type == "m.room.member" and w.event.state_key is not None]
        changes = [MemberChange(e.room_id, e.state_key, e.stream_ordering,
                                e.content.get("membership") == "join")
                   for e in members if e.state_key is not None
                   and (self._local is None or self._local(e.state_key))]
        await self._notifier.notify(users=[e.state_key for e in members if e.state_key],
                                    rooms={w.event.room_id for w in events}, members=changes)


async def link_processes(notifier: Notifier, storage: Storage
                         ) -> Callable[[], Awaitable[None]]:
    """Forward this process's notifications to the other processes on the same
    PostgreSQL database, and theirs to this one (``LISTEN/NOTIFY``); returns the
    function that unlinks."""
    origin = uuid.uuid4().hex

    def received(payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("o") == origin:
            return
        try:
            changes = [MemberChange(str(r), str(u), int(n), bool(j))
                       for r, u, n, j in message.get("m") or []]
        except (TypeError, ValueError):
            changes = []
        notifier.wake_soon(message.get("u") or [], message.get("r") or [], changes)

    async def publish(users: list[str], rooms: list[str],
                      members: list[MemberChange]) -> None:
        encoded = [[c.room_id, c.user_id, c.stream, int(c.joined)] for c in members]
        for chunk_members, chunk_users, chunk_rooms in _chunks(encoded, users, rooms):
            await storage.notify(CHANNEL, json.dumps(
                {"o": origin, "m": chunk_members, "u": chunk_users, "r": chunk_rooms},
                separators=(",", ":")))

    stop = await storage.listen(CHANNEL, received)
    notifier.add_publisher(publish)
    return stop


def _chunks(members: list[list[Any]], users: list[str], rooms: list[str]
            ) -> list[tuple[list[list[Any]], list[str], list[str]]]:
    """Split a notification into payloads under ``MAX_PAYLOAD``; membership changes come
    first, so a process has applied them before it wakes the rooms' members."""
    out: list[tuple[list[list[Any]], list[str], list[str]]] = []
    current: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    size = 0
    for index, items in ((0, members), (1, users), (2, rooms)):
        for item in items:
            length = len(json.dumps(item).encode()) + 4
            if size + length > MAX_PAYLOAD and any(current):
                out.append(current)
                current, size = ([], [], []), 0
            current[index].append(item)
            size += length
    if any(current):
        out.append(current)
    return out
