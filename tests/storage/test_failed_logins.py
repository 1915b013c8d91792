"""The failed-login store's compare-and-swap, on both engines: a write based on a stale
read is refused, so two processes counting failures of one account never lose one."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.failed_logins import FailedLoginState


def _state(version: int, tokens: float = 2.0, expires_ms: int = 10_000) -> FailedLoginState:
    return FailedLoginState(tokens, 1_000, 0, 0, expires_ms, version)


async def test_compare_and_swap(storage: Storage) -> None:
    store = storage.failed_logins
    assert await store.get("@a:x") is None
    assert await store.insert("@a:x", _state(1))
    assert not await store.insert("@a:x", _state(1, tokens=5.0))  # a racer created it first
    assert await store.replace("@a:x", _state(2, tokens=1.5), read_version=1)
    assert not await store.replace("@a:x", _state(2, tokens=0.5), read_version=1)  # stale
    assert await store.get("@a:x") == _state(2, tokens=1.5)


async def test_sweep_and_delete(storage: Storage) -> None:
    store = storage.failed_logins
    await store.insert("@old:x", _state(1, expires_ms=500))
    await store.insert("@new:x", _state(1, expires_ms=5_000))
    await store.sweep(1_000)
    assert await store.get("@old:x") is None
    assert await store.get("@new:x") is not None
    await store.delete("@new:x")
    assert await store.get("@new:x") is None
