"""Per-user rate-limit overrides on the engine under test."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.ratelimit_overrides import RatelimitOverride
from tests.storage.helpers import uid


async def test_set_replace_delete(shared: Storage) -> None:
    u, other = f"@{uid('u')}:test", f"@{uid('u')}:test"
    store = shared.ratelimit_overrides
    assert await store.get(u) is None
    await store.set(u, 0, 0)
    assert await store.get(u) == RatelimitOverride(0, 0)
    await store.set(u, 2_000_000_000, 7)
    await store.set(other, 1, 1)
    assert await store.get(u) == RatelimitOverride(2_000_000_000, 7)
    await store.delete(u)
    await store.delete(u)
    assert await store.get(u) is None
    assert await store.get(other) == RatelimitOverride(1, 1)
