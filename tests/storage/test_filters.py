"""Stored filters on the engine under test."""

from __future__ import annotations

from glia.storage import Storage
from tests.storage.helpers import MAX_SAFE, uid


async def test_ids_count_per_user_from_zero(shared: Storage) -> None:
    a, b = f"@{uid('u')}:test", f"@{uid('u')}:test"
    definition = {"room": {"timeline": {"limit": 10}}, "event_fields": ["content.bödy"],
                  "big": MAX_SAFE}
    async with shared.transaction() as tx:
        assert await tx.filters.add(a, definition) == 0
        assert await tx.filters.add(a, {}) == 1
        assert await tx.filters.add(b, {"x": None}) == 0
    assert await shared.filters.get(a, 0) == definition
    assert await shared.filters.get(a, 1) == {}
    assert await shared.filters.get(b, 0) == {"x": None}
    assert await shared.filters.get(b, 1) is None
    assert await shared.filters.get(a, -1) is None
