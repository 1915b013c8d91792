"""The shared token bucket's one-statement take, on both engines: a burst, then refusals
with the tokens left, then a refill with time capped at the burst."""

from __future__ import annotations

import asyncio

from glia.storage import Storage


async def test_take_refill_and_cap(storage: Storage) -> None:
    store = storage.ratelimit_buckets
    results = [await store.take("login", "1.2.3.4", 2.0, 3, 1_000) for _ in range(4)]
    assert [t.allowed for t in results] == [True, True, True, False]
    assert results[-1].tokens == 0.0
    # Half a second at 2/s refills one token.
    assert (await store.take("login", "1.2.3.4", 2.0, 3, 1_500)).allowed
    assert not (await store.take("login", "1.2.3.4", 2.0, 3, 1_500)).allowed
    # A long pause refills to the burst and no further.
    assert [(await store.take("login", "1.2.3.4", 2.0, 3, 100_000)).allowed
            for _ in range(4)] == [True, True, True, False]
    # Other callers and classes have their own buckets.
    assert (await store.take("login", "5.6.7.8", 2.0, 3, 1_500)).allowed
    assert (await store.take("register", "1.2.3.4", 2.0, 3, 1_500)).allowed


async def test_concurrent_takes_never_exceed_the_burst(storage: Storage) -> None:
    store = storage.ratelimit_buckets
    taken = await asyncio.gather(*(store.take("message", "@a:x", 0.001, 5, 1_000)
                                   for _ in range(20)))
    assert sum(t.allowed for t in taken) == 5


async def test_sweep(storage: Storage) -> None:
    store = storage.ratelimit_buckets
    await store.take("login", "old", 1.0, 1, 1_000)
    await store.take("login", "new", 1.0, 1, 5_000)
    await store.sweep(2_000)
    assert (await store.take("login", "old", 1.0, 1, 2_000)).allowed  # full again
    assert not (await store.take("login", "new", 1.0, 1, 5_000)).allowed
