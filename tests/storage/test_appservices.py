"""The application-service queue and delivery state on the engine under test."""

from __future__ import annotations

import uuid

from glia.storage import Storage
from glia.storage.appservices import QueuedItem


def _sid() -> str:
    return f"as-{uuid.uuid4().hex[:8]}"


async def _enqueue(storage: Storage, items: list[QueuedItem]) -> None:
    async with storage.transaction() as tx:
        rows = [(await tx.next_stream_position("appservice_queue"), i) for i in items]
        await tx.appservices.enqueue(rows)


async def _open(storage: Storage, sid: str, limit: int = 10) -> tuple[int, list[str]]:
    async with storage.transaction() as tx:
        txn = await tx.appservices.open_transaction(sid, limit)
    assert txn is not None
    return txn.txn_id, [i.content["n"] for i in txn.items]


async def test_transactions_keep_their_items_and_id_until_delivered(shared: Storage) -> None:
    sid, other = _sid(), _sid()
    for s in (sid, other):
        await shared.appservices.ensure_state(s)
    await _enqueue(shared, [QueuedItem(sid, "event", {"n": f"e{i}"}, 1000 + i)
                            for i in range(3)])
    # The fan-out handing the same event over again queues nothing new.
    await _enqueue(shared, [QueuedItem(sid, "event", {"n": "again"}, 1001),
                            QueuedItem(other, "event", {"n": "x"}, 1001),
                            QueuedItem(sid, "ephemeral", {"n": "typing"})])
    first = await _open(shared, sid, limit=2)
    assert first == (1, ["e0", "e1"])
    # Not delivered: the same transaction again, whatever was queued since.
    await _enqueue(shared, [QueuedItem(sid, "event", {"n": "later"}, 1010)])
    assert await _open(shared, sid, limit=10) == first
    state = await shared.appservices.state(sid)
    assert state is not None and state.backlog == 5
    await shared.appservices.failed(sid, 50, "HTTP 500", 1050)
    await shared.appservices.failed(sid, 60, "HTTP 502", 2060)
    state = await shared.appservices.state(sid)
    assert state is not None
    assert (state.failing_since_ts, state.last_error, state.attempts,
            state.next_attempt_ts) == (50, "HTTP 502", 2, 2060)
    await shared.appservices.delivered(sid, 1, 70)
    assert await _open(shared, sid) == (2, ["e2", "typing", "later"])
    state = await shared.appservices.state(sid)
    assert state is not None
    assert (state.last_success_ts, state.failing_since_ts, state.last_error,
            state.attempts, state.backlog) == (70, None, None, 0, 3)
    # Another service's queue and numbering are its own.
    assert await _open(shared, other) == (1, ["x"])


async def test_pause_retry_and_lease(shared: Storage) -> None:
    sid = _sid()
    store = shared.appservices
    await store.ensure_state(sid)
    await store.ensure_state(sid)
    await store.set_paused(sid, True)
    await store.failed(sid, 10, "down", 99_999)
    await store.retry_now(sid)
    state = await store.state(sid)
    assert state is not None and state.paused and state.next_attempt_ts == 0
    assert await store.claim(sid, "a", now=100, until=200)
    assert await store.claim(sid, "a", now=150, until=250)  # the holder keeps it
    assert not await store.claim(sid, "b", now=200, until=300)
    assert await store.claim(sid, "b", now=251, until=351)  # expired: taken over
    await store.release(sid, "a")  # not the holder: nothing happens
    assert not await store.claim(sid, "a", now=300, until=400)
    assert await store.state("nope") is None


async def test_network_room_lists(shared: Storage) -> None:
    sid = _sid()
    store = shared.appservices
    await store.list_room(sid, "libera", "!b:x")
    await store.list_room(sid, "libera", "!a:x")
    await store.list_room(sid, "libera", "!a:x")
    await store.list_room(sid, "oftc", "!c:x")
    assert await store.listed_rooms(sid, "libera") == ["!a:x", "!b:x"]
    assert {"!a:x", "!b:x", "!c:x"} <= set(await store.listed_rooms())
    await store.unlist_room(sid, "libera", "!b:x")
    assert await store.listed_rooms(sid, "libera") == ["!a:x"]
