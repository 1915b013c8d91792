"""After-commit fan-out of written events to named subscribers, made durable by an outbox.

The event writer (``services/events.py``) records one ``event_outbox`` row per event in
the transaction that writes the event (:meth:`EventFanout.record`). Once that transaction
committed it calls :meth:`EventFanout.publish`, which runs every subscriber in order and
then deletes the rows. A subscriber that raises never fails the write: it is logged with
the event IDs, and the rows stay, naming the subscribers still to run. The retry loop
(:meth:`EventFanout.run_retries`, started by the application in every process) claims
rows whose time has come — a subscriber failed, or a process died between its commit and
its fan-out — and runs their remaining subscribers again, backing off on each failure.

So every subscriber sees every event at least once, possibly twice (a crash after it
ran but before the row went): subscribers must be idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from glia.clock import now_ms
from glia.protocol.room_versions import RoomVersion, get_room_version
from glia.storage import Storage, Stores
from glia.storage.events import StoredEvent
from glia.storage.outbox import OutboxEntry

__all__ = ["EventFanout", "EventSubscriber", "WrittenEvent"]

logger = logging.getLogger(__name__)

#: The writer runs its own events' subscribers within this time; after it, the retry
#: loop takes over the rows it left (it failed, or died).
WRITER_GRACE_MS = 5_000
#: How long a retry owns the rows it claimed.
RETRY_LEASE_MS = 60_000
#: Back-off of rows whose subscriber failed again: from 5 s, doubling, to 10 minutes.
MIN_BACKOFF_MS = 5_000
MAX_BACKOFF_MS = 600_000
#: How often the retry loop looks for due rows, and how many it claims at once.
POLL_SECONDS = 2.0
RETRY_BATCH = 100


@dataclass(frozen=True)
class WrittenEvent:
    """A committed event with its room's version (rules such as redaction differ)."""

    event: StoredEvent
    version: RoomVersion


class EventSubscriber(Protocol):
    """Something that happens after events are written. ``name`` is stored in the outbox
    when a retry is owed, so keep it stable. ``handle`` gets the events of one write (or
    one retry batch) in stream order and must be idempotent. A subscriber whose class
    sets ``wakes_readers = True`` (the /sync wake-ups) runs only after the writer made
    the events visible to this process's readers (see :meth:`EventFanout.publish`)."""

    @property
    def name(self) -> str: ...

    async def handle(self, events: Sequence[WrittenEvent]) -> None: ...


class EventFanout:
    def __init__(self, storage: Storage, subscribers: Sequence[EventSubscriber]) -> None:
        names = [s.name for s in subscribers]
        if len(set(names)) != len(names):
            raise ValueError(f"subscriber names must be unique: {names}")
        self._storage = storage
        self._subscribers = list(subscribers)

    @property
    def subscribers(self) -> list[str]:
        return [s.name for s in self._subscribers]

    @staticmethod
    async def record(tx: Stores, events: Sequence[StoredEvent]) -> None:
        """In the writing transaction: note that ``events`` await their subscribers."""
        await tx.outbox.add([(e.stream_ordering, e.event_id) for e in events],
                            now_ms() + WRITER_GRACE_MS)

    async def publish(self, events: Sequence[WrittenEvent],
                      visible: Callable[[], None] | None = None) -> None:
        """After the commit: run every subscriber on ``events``, then clear their rows
        (or leave them, naming the failed subscribers, for the retry loop).

        ``visible`` releases the events' stream positions to this process's readers. It
        is called after the subscribers that readers depend on (push evaluation, search)
        and before the ones that wake readers, so a ``/sync`` never returns an event
        without its unread counts, and a woken one finds the event."""
        if not events:
            if visible is not None:
                visible()
            return
        failed = await self._run(events, self._subscribers, visible)
        streams = [w.event.stream_ordering for w in events]
        try:
            if failed:
                await self._storage.outbox.retry_later(streams, failed,
                                                       now_ms() + MIN_BACKOFF_MS)
            else:
                await self._storage.outbox.remove(streams)
        except Exception:
            # The rows stay as they were: the retry loop runs every subscriber again.
            logger.exception("could not update the event outbox for %s", _ids(events))

    async def _run(self, events: Sequence[WrittenEvent],
                   subscribers: Sequence[EventSubscriber],
                   visible: Callable[[], None] | None = None) -> list[str]:
        failed = []
        for subscriber in subscribers:
            if visible is not None and getattr(subscriber, "wakes_readers", False):
                visible()
                visible = None
            try:
                await subscriber.handle(events)
            except Exception:
                logger.exception("event subscriber %r failed on %s; it will be retried",
                                 subscriber.name, _ids(events))
                failed.append(subscriber.name)
        if visible is not None:
            visible()
        return failed

    # -- retries ------------------------------------------------------------------------

    async def run_retries(self) -> None:
        """The retry loop: runs until cancelled."""
        while True:
            try:
                while await self.retry_due() >= RETRY_BATCH:
                    pass
            except Exception:
                logger.exception("event outbox retry round failed")
            await asyncio.sleep(POLL_SECONDS)

    async def retry_due(self) -> int:
        """One round: claim due rows and run their remaining subscribers; returns how
        many rows were claimed."""
        now = now_ms()
        claimed = await self._storage.outbox.claim_due(now, now + RETRY_LEASE_MS,
                                                       RETRY_BATCH)
        if not claimed:
            return 0
        stored = await self._storage.events.get_many([c.event_id for c in claimed])
        versions: dict[str, RoomVersion | None] = {}
        groups: dict[tuple[str, ...] | None, list[tuple[OutboxEntry, WrittenEvent]]] = {}
        gone = []
        for entry in claimed:
            event = stored.get(entry.event_id)
            if event is not None and event.room_id not in versions:
                room = await self._storage.rooms.get(event.room_id)
                versions[event.room_id] = get_room_version(room.room_version) \
                    if room is not None else None
            version = versions.get(event.room_id) if event is not None else None
            if event is None or version is None:
                gone.append(entry.stream_ordering)
                continue
            groups.setdefault(entry.pending, []).append((entry, WrittenEvent(event, version)))
        if gone:
            await self._storage.outbox.remove(gone)
        for pending, rows in groups.items():
            await self._retry(pending, rows)
        return len(claimed)

    async def _retry(self, pending: tuple[str, ...] | None,
                     rows: list[tuple[OutboxEntry, WrittenEvent]]) -> None:
        subscribers = [s for s in self._subscribers if pending is None or s.name in pending]
        events = [w for _, w in rows]
        failed = await self._run(events, subscribers)
        streams = [e.stream_ordering for e, _ in rows]
        if not failed:
            await self._storage.outbox.remove(streams)
            logger.info("event subscribers caught up on %s", _ids(events))
            return
        attempts = max(e.attempts for e, _ in rows)
        backoff = min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** min(attempts, 20))
        await self._storage.outbox.retry_later(streams, failed, now_ms() + backoff)


def _ids(events: Sequence[WrittenEvent]) -> str:
    shown = ", ".join(w.event.event_id for w in events[:10])
    return shown + (f" and {len(events) - 10} more" if len(events) > 10 else "")
