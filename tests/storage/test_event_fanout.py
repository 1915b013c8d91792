"""The event writer's after-commit fan-out on the engine under test: a failing subscriber
never fails the write and is retried from the outbox (only it, with back-off); push
evaluation run twice on an event records and pushes its notifications once."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from glia.config import Config
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS
from glia.protocol.signing import generate_signing_key
from glia.services import event_fanout
from glia.services.event_fanout import EventFanout, WrittenEvent
from glia.services.events import EventRequest, EventsService
from glia.services.push_evaluation import PushEvaluator
from glia.services.push_gateway import PushGateway
from glia.storage import Storage
from glia.storage.push import Pusher

ALICE, BOB = "@alice:test", "@bob:test"
V12 = KNOWN_ROOM_VERSIONS["12"]


class Recorder:
    """A subscriber that fails its first ``failures`` calls, then records what it saw."""

    def __init__(self, name: str, failures: int = 0) -> None:
        self.name = name
        self.failures = failures
        self.calls: list[list[str]] = []

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError(f"{self.name} is down")
        self.calls.append([w.event.event_id for w in events])


class QuietGateway(PushGateway):
    """Counts wake-ups instead of starting the delivery worker."""

    woken = 0

    def wake(self) -> None:
        self.woken += 1


def _writer(storage: Storage, fanout: EventFanout) -> EventsService:
    config = Config(server_name="test")
    return EventsService(config, storage, generate_signing_key(), persist_steps=[],
                         fanout=fanout)


async def _public_room(writer: EventsService) -> tuple[str, list[str]]:
    def later(room_id: str) -> list[EventRequest]:
        return [EventRequest(ALICE, "m.room.member", {"membership": "join"}, state_key=ALICE),
                EventRequest(ALICE, "m.room.join_rules", {"join_rule": "public"},
                             state_key="")]
    room_id, written = await writer.create_room(ALICE, V12, {}, later)
    return room_id, [e.event_id for e in written]


def _message(body: str) -> EventRequest:
    return EventRequest(ALICE, "m.room.message", {"msgtype": "m.text", "body": body})


async def test_a_failing_subscriber_is_retried_without_failing_the_write(
        storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    first, flaky, last = Recorder("first"), Recorder("flaky", failures=2), Recorder("last")
    fanout = EventFanout(storage, [first, flaky, last])
    writer = _writer(storage, fanout)

    room_id, created = await _public_room(writer)
    sent = await writer.send(room_id, _message("hello"))
    # Both writes succeeded; the subscribers around the failing one ran on each at once.
    assert first.calls == last.calls == [created, [sent.event_id]]
    assert flaky.calls == []
    assert await storage.outbox.waiting() == 4
    # Not retried while the writer's grace period and the back-off last.
    assert await fanout.retry_due() == 0

    clock = event_fanout.now_ms() + 60_000
    monkeypatch.setattr(event_fanout, "now_ms", lambda: clock)
    assert await fanout.retry_due() == 4
    # Only the subscriber that failed ran again, on every event it missed, in order.
    assert flaky.calls == [[*created, sent.event_id]]
    assert first.calls == last.calls == [created, [sent.event_id]]
    assert await storage.outbox.waiting() == 0


async def test_retries_back_off_while_a_subscriber_keeps_failing(
        storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = Recorder("broken", failures=1_000)
    fanout = EventFanout(storage, [broken])
    writer = _writer(storage, fanout)
    await _public_room(writer)
    start = event_fanout.now_ms()
    clock = [start]
    monkeypatch.setattr(event_fanout, "now_ms", lambda: clock[0])
    retried_at = []
    for _ in range(40):
        clock[0] += 1_000
        if await fanout.retry_due():
            retried_at.append(clock[0] - start)
    # 5 s after the write, then after 10 s and 20 s of back-off.
    assert retried_at == [5_000, 15_000, 35_000]
    assert await storage.outbox.waiting() == 3  # never dropped


async def test_success_clears_the_outbox_in_one_go(storage: Storage) -> None:
    seen = Recorder("seen")
    writer = _writer(storage, EventFanout(storage, [seen]))
    room_id, _ = await _public_room(writer)
    await writer.send(room_id, _message("one"))
    assert await storage.outbox.waiting() == 0
    assert len(seen.calls) == 2


async def test_push_evaluation_run_twice_notifies_and_pushes_once(storage: Storage) -> None:
    gateway = QuietGateway(storage, "test")
    evaluator = PushEvaluator("test", storage, gateway)
    writer = _writer(storage, EventFanout(storage, [evaluator]))
    async with storage.transaction() as tx:
        await tx.users.create(BOB, None, admin=False, user_type=None, creation_ts=1)
        await tx.devices.upsert(BOB, "PHONE", None, 1)
    await storage.push.upsert_pusher(Pusher(
        BOB, "app", "key", "http", "App", "Phone", "", "en",
        {"url": "http://gw/_matrix/push/v1/notify"}, "PHONE", 5))
    room_id, _ = await _public_room(writer)
    await writer.send(room_id, EventRequest(BOB, "m.room.member", {"membership": "join"},
                                            state_key=BOB))
    message = await writer.send(room_id, _message("hello there"))
    assert await storage.outbox.waiting() == 0
    assert gateway.woken == 1

    await evaluator.handle([WrittenEvent(message, V12)])
    notes = await storage.push.notifications(BOB, None, 10, False)
    assert [n.event_id for n in notes] == [message.event_id]
    now = event_fanout.now_ms()
    deliveries = await storage.push.claim_due(now + 1, now + 60_000, 10)
    assert [d.notification.event_id for d in deliveries] == [message.event_id]
    assert await storage.push.unread_counts(BOB, [room_id]) == {room_id: (1, 0)}
    assert gateway.woken == 1


async def test_subscriber_names_must_be_unique(storage: Storage) -> None:
    # A name is what the outbox stores for a retry; two alike would be ambiguous.
    with pytest.raises(ValueError, match="unique"):
        EventFanout(storage, [Recorder("a"), Recorder("a")])


class VisibilityProbe:
    """Records, for each event it sees, whether this process's readers could already
    see it (``stream_upto`` has reached its position)."""

    def __init__(self, storage: Storage, name: str, wakes_readers: bool) -> None:
        self.name = name
        self.wakes_readers = wakes_readers
        self._storage = storage
        self.saw: list[bool] = []

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        upto = await self._storage.stream_upto()
        self.saw.extend(w.event.stream_ordering <= upto for w in events)


async def test_readers_see_events_only_after_the_subscribers_they_depend_on(
        storage: Storage) -> None:
    """Push and search run before a /sync may return the event (else it could come
    without its unread counts); the wake-ups run after it is visible (else a woken /sync
    would find nothing)."""
    before = VisibilityProbe(storage, "push-like", wakes_readers=False)
    wakeups = VisibilityProbe(storage, "wakeups", wakes_readers=True)
    writer = _writer(storage, EventFanout(storage, [before, wakeups]))
    room_id, _ = await _public_room(writer)
    event = await writer.send(room_id, _message("hello"))
    # The room's three events, then the message.
    assert before.saw == [False] * 4
    assert wakeups.saw == [True] * 4
    assert await storage.stream_upto() >= event.stream_ordering
