"""Wake-ups for long-polling readers (``/sync``): whoever writes something a user may want
calls :meth:`Notifier.notify` after the write committed; every waiter it concerns re-reads.

A waiter says which user it serves and which rooms it watches. A notification names the
users and rooms it concerns; it wakes waiters of those users and waiters watching those
rooms. Waking is cheap and may be spurious: a woken reader re-reads the database and
waits again if nothing it can see changed. Across processes, a publisher (PostgreSQL
``LISTEN/NOTIFY``) forwards each notification to the other processes' notifiers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from glia.services.event_fanout import WrittenEvent
from glia.storage import Storage

#: The PostgreSQL channel wake-ups travel on between processes.
CHANNEL = "glia_wake"
#: NOTIFY payloads must stay under 8000 bytes; larger notifications are split.
MAX_PAYLOAD = 7000

#: Forwards a notification to other processes (users, rooms).
Publisher = Callable[[list[str], list[str]], Awaitable[None]]


@dataclass(eq=False)
class _Waiter:
    user_id: str
    rooms: frozenset[str]
    event: asyncio.Event = field(default_factory=asyncio.Event)


class Notifier:
    def __init__(self) -> None:
        self._by_user: dict[str, set[_Waiter]] = {}
        self._by_room: dict[str, set[_Waiter]] = {}
        self._publishers: list[Publisher] = []

    def add_publisher(self, publisher: Publisher) -> None:
        self._publishers.append(publisher)

    async def notify(self, users: Iterable[str] = (), rooms: Iterable[str] = ()) -> None:
        """Something committed that concerns ``users`` and the members of ``rooms``."""
        user_list, room_list = list(users), list(rooms)
        self.wake_local(user_list, room_list)
        for publish in self._publishers:
            await publish(user_list, room_list)

    def wake_local(self, users: Iterable[str], rooms: Iterable[str]) -> None:
        for user_id in users:
            for waiter in self._by_user.get(user_id, ()):
                waiter.event.set()
        for room_id in rooms:
            for waiter in self._by_room.get(room_id, ()):
                waiter.event.set()

    async def wait(self, user_id: str, rooms: Iterable[str], timeout: float,
                   ready: Callable[[], Awaitable[bool]] | None = None) -> bool:
        """Wait until a notification concerns ``user_id`` or ``rooms``, or ``timeout``
        seconds pass; returns whether one came. ``ready`` is checked after registering,
        so a write that committed just before the wait began is not missed."""
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

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        targets = [w.event.state_key for w in events
                   if w.event.type == "m.room.member" and w.event.state_key is not None]
        await self._notifier.notify(users=targets, rooms={w.event.room_id for w in events})


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
        if isinstance(message, dict) and message.get("o") != origin:
            notifier.wake_local(message.get("u") or [], message.get("r") or [])

    async def publish(users: list[str], rooms: list[str]) -> None:
        for chunk_users, chunk_rooms in _chunks(users, rooms):
            await storage.notify(CHANNEL, json.dumps(
                {"o": origin, "u": chunk_users, "r": chunk_rooms}, separators=(",", ":")))

    stop = await storage.listen(CHANNEL, received)
    notifier.add_publisher(publish)
    return stop


def _chunks(users: list[str], rooms: list[str]) -> list[tuple[list[str], list[str]]]:
    out: list[tuple[list[str], list[str]]] = []
    current: tuple[list[str], list[str]] = ([], [])
    size = 0
    for index, items in ((0, users), (1, rooms)):
        for item in items:
            if size + len(item) + 4 > MAX_PAYLOAD and (current[0] or current[1]):
                out.append(current)
                current, size = ([], []), 0
            current[index].append(item)
            size += len(item.encode()) + 4
    if current[0] or current[1]:
        out.append(current)
    return out
