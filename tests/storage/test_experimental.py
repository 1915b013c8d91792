"""Per-user experimental-feature flags on the engine under test."""

from __future__ import annotations

from glia.storage import Storage
from tests.storage.helpers import uid


async def test_set_and_enabled(shared: Storage) -> None:
    u, other = f"@{uid('u')}:test", f"@{uid('u')}:test"
    store = shared.experimental_features
    assert await store.enabled(u) == set()
    await store.set(u, {"msc3881": True, "msc3575": True, "msc3967": False})
    await store.set(other, {"msc3881": True})
    assert await store.enabled(u) == {"msc3881", "msc3575"}
    # Unmentioned features keep their value; mentioned ones flip either way.
    await store.set(u, {"msc3575": False, "msc3967": True})
    assert await store.enabled(u) == {"msc3881", "msc3967"}
    await store.set(u, {})
    assert await store.enabled(u) == {"msc3881", "msc3967"}
    assert await store.enabled(other) == {"msc3881"}
