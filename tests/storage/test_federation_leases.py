"""Destination leases of the federation sender on the engine under test: one holder at
a time, renewed by its holder, taken over once expired, given up only by the holder;
two racing takers of a free lease cannot both win."""

from __future__ import annotations

import asyncio

from glia.storage import Storage


async def test_one_holder_renewal_expiry_and_give_up(storage: Storage) -> None:
    leases = storage.federation_leases
    assert await leases.take("d", "p1", now=100, expires_ts=200)
    assert not await leases.take("d", "p2", now=150, expires_ts=250)
    assert await leases.holder("d", 150) == "p1"
    assert await leases.take("d", "p1", now=190, expires_ts=300)  # renewed
    assert not await leases.take("d", "p2", now=250, expires_ts=350)
    assert await leases.take("other", "p2", now=250, expires_ts=350)
    # The holder died: its lease expires and another process takes over.
    assert await leases.take("d", "p2", now=301, expires_ts=400)
    assert not await leases.take("d", "p1", now=302, expires_ts=400)
    await leases.give_up("d", "p1")  # not the holder: nothing happens
    assert await leases.holder("d", 302) == "p2"
    await leases.give_up("d", "p2")
    assert await leases.holder("d", 302) is None
    assert await leases.take("d", "p1", now=303, expires_ts=400)


async def test_racing_takers(storage: Storage) -> None:
    leases = storage.federation_leases
    for round_ in range(5):
        destination = f"race{round_}"
        won = await asyncio.gather(*(leases.take(destination, f"p{i}", 1, 10)
                                     for i in range(4)))
        assert sum(won) == 1
