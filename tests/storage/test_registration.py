"""Shared-secret registration nonces on the engine under test."""

from __future__ import annotations

from glia.storage import Storage
from tests.storage.helpers import MAX_SAFE, uid


async def test_nonce_is_taken_once(shared: Storage) -> None:
    nonce = uid("n")
    await shared.registration.add_nonce(nonce, 100)
    assert await shared.registration.take_nonce(nonce, not_before=100)
    assert not await shared.registration.take_nonce(nonce, not_before=0)
    assert not await shared.registration.take_nonce(uid("never"), not_before=0)


async def test_a_too_old_nonce_is_refused_and_still_consumed(shared: Storage) -> None:
    nonce = uid("n")
    await shared.registration.add_nonce(nonce, 99)
    assert not await shared.registration.take_nonce(nonce, not_before=100)
    assert not await shared.registration.take_nonce(nonce, not_before=0)


async def test_sweep_removes_only_older_nonces(shared: Storage) -> None:
    old, edge, new = uid("n"), uid("n"), uid("n")
    await shared.registration.add_nonce(old, MAX_SAFE - 2)
    await shared.registration.add_nonce(edge, MAX_SAFE - 1)
    await shared.registration.add_nonce(new, MAX_SAFE)
    await shared.registration.sweep_nonces(older_than=MAX_SAFE - 1)
    assert not await shared.registration.take_nonce(old, 0)
    assert await shared.registration.take_nonce(edge, 0)
    assert await shared.registration.take_nonce(new, 0)
