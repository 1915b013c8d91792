"""Read receipts on the engine under test: one row per (room, type, user, thread), the
newest wins, and the change window a sync reads."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.receipts import UNTHREADED, Receipt
from tests.storage.helpers import MAX_SAFE, uid


async def test_put_replaces_per_thread_and_type(shared: Storage) -> None:
    r, u = f"!{uid('r')}:test", f"@{uid('u')}:test"
    store = shared.receipts
    await store.put(Receipt(r, "m.read", u, UNTHREADED, "$a", 1, 10))
    await store.put(Receipt(r, "m.read", u, "$thread", "$b", 2, 11))
    await store.put(Receipt(r, "m.read.private", u, UNTHREADED, "$c", 3, 12))
    await store.put(Receipt(r, "m.read", u, UNTHREADED, "$d", MAX_SAFE, 13))
    assert await store.get(r, "m.read", u, UNTHREADED) == Receipt(r, "m.read", u, UNTHREADED,
                                                                  "$d", MAX_SAFE, 13)
    assert await store.get(r, "m.read", u, "$thread") == Receipt(r, "m.read", u, "$thread",
                                                                 "$b", 2, 11)
    assert await store.get(r, "m.read", f"@{uid('x')}:test", UNTHREADED) is None


async def test_in_rooms_window(shared: Storage) -> None:
    r1, r2, r3 = (f"!{uid('r')}:test" for _ in range(3))
    store = shared.receipts
    await store.put(Receipt(r1, "m.read", "@a:test", UNTHREADED, "$1", 1, 100))
    await store.put(Receipt(r2, "m.read", "@a:test", UNTHREADED, "$2", 1, 101))
    await store.put(Receipt(r3, "m.read", "@a:test", UNTHREADED, "$3", 1, 102))
    await store.put(Receipt(r1, "m.read", "@b:test", UNTHREADED, "$4", 1, 103))
    found = await store.in_rooms([r1, r2], None, 103)
    assert [(x.room_id, x.event_id, x.stream) for x in found] == [
        (r1, "$1", 100), (r2, "$2", 101), (r1, "$4", 103)]
    assert [x.event_id for x in await store.in_rooms([r1, r2, r3], 100, 102)] == ["$2", "$3"]
    assert await store.in_rooms([r1], 103, 200) == []
    assert await store.in_rooms([], None, 200) == []
