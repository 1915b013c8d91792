"""Cross-signing replacement windows on the engine under test."""

from __future__ import annotations

from glia.storage import Storage
from tests.storage.helpers import uid


async def test_open_replace_and_close(shared: Storage) -> None:
    u, other = f"@{uid('u')}:test", f"@{uid('u')}:test"
    store = shared.cross_signing_replacement
    assert await store.window_end(u) is None
    await store.open_window(u, 1_000)
    await store.open_window(other, 5_000)
    assert await store.window_end(u) == 1_000
    await store.open_window(u, 2_000)  # a second call moves the end
    assert await store.window_end(u) == 2_000
    await store.close_window(u)
    assert await store.window_end(u) is None
    assert await store.window_end(other) == 5_000
