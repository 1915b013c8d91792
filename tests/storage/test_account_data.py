"""Account data on the engine under test: global and per-room rows, replacement, and the
change window a sync reads."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.account_data import GLOBAL, AccountData
from tests.storage.helpers import MAX_SAFE, uid


async def test_put_get_replace(shared: Storage) -> None:
    u = f"@{uid('u')}:test"
    store = shared.account_data
    await store.put(u, GLOBAL, "m.direct", {"@b:test": ["!r:test"]}, 1)
    await store.put(u, "!r:test", "m.direct", {"room": "scoped ✓"}, 2)
    assert await store.get(u, GLOBAL, "m.direct") == {"@b:test": ["!r:test"]}
    assert await store.get(u, "!r:test", "m.direct") == {"room": "scoped ✓"}
    await store.put(u, GLOBAL, "m.direct", {}, 3)
    assert await store.get(u, GLOBAL, "m.direct") == {}
    assert await store.get(u, GLOBAL, "M.DIRECT") is None
    assert await store.get(f"@{uid('other')}:test", GLOBAL, "m.direct") is None


async def test_changed_window_and_all(shared: Storage) -> None:
    u = f"@{uid('u')}:test"
    store = shared.account_data
    await store.put(u, GLOBAL, "a", {"n": 1}, 10)
    await store.put(u, "!r:test", "b", {"n": 2}, 20)
    await store.put(u, GLOBAL, "c", {"big": MAX_SAFE}, 30)
    await store.put(u, GLOBAL, "a", {"n": 4}, 40)  # Moves "a" to the end.
    await store.put(f"@{uid('x')}:test", GLOBAL, "a", {}, 25)
    assert await store.changed(u, None, 40) == [
        AccountData("!r:test", "b", {"n": 2}, 20), AccountData(GLOBAL, "c", {"big": MAX_SAFE}, 30),
        AccountData(GLOBAL, "a", {"n": 4}, 40)]
    # (since, upto]: the lower bound is exclusive, the upper inclusive.
    assert [d.type for d in await store.changed(u, 20, 30)] == ["c"]
    assert await store.changed(u, 40, 40) == []
    assert [d.type for d in await store.changed(u, 0, 39)] == ["b", "c"]
    assert [(d.room_id, d.type) for d in await store.all_of_user(u)] == [
        (GLOBAL, "a"), (GLOBAL, "c"), ("!r:test", "b")]
    assert await store.all_of_user(f"@{uid('none')}:test") == []
