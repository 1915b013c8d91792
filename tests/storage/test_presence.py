"""Presence on the engine under test: upserts, sync times, who shares a room, and stale
online users."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.presence import Presence
from tests.storage.helpers import MAX_SAFE, member, room, uid


async def test_put_get_touch(shared: Storage) -> None:
    u = f"@{uid('u')}:test"
    store = shared.presence
    assert await store.get(u) is None
    await store.put(Presence(u, "online", "Bürö ☕", 10, 20, 5))
    await store.put(Presence(u, "unavailable", None, 30, 40, 6))
    assert await store.get(u) == Presence(u, "unavailable", None, 30, 40, 6)
    await store.touch_sync(u, MAX_SAFE)
    assert await store.get(u) == Presence(u, "unavailable", None, 30, MAX_SAFE, 6)
    # Touching an unknown user creates nothing.
    await store.touch_sync(f"@{uid('ghost')}:test", 1)
    assert await store.get(f"@{uid('ghost')}:test") is None


async def test_changed_in_rooms(shared: Storage) -> None:
    a, b, c, d = (f"@{uid(n)}:test" for n in "abcd")
    async with shared.transaction() as tx:
        r1, r2 = await room(tx), await room(tx)
        await member(tx, r1, a)
        await member(tx, r1, b)
        await member(tx, r2, c)
        await member(tx, r1, d, "invite")
        await member(tx, r1, b, "leave")
    store = shared.presence
    for i, u in enumerate((a, b, c, d)):
        await store.put(Presence(u, "online", None, 1, 1, 100 + i))
    assert [p.user_id for p in await store.changed_in_rooms([r1], None, 200)] == [a]
    got = await store.changed_in_rooms([r1, r2], None, 200)
    assert sorted(p.user_id for p in got) == sorted([a, c])
    assert [p.user_id for p in await store.changed_in_rooms([r1, r2], 100, 200)] == [c]
    assert await store.changed_in_rooms([r1, r2], 102, 200) == []
    assert await store.changed_in_rooms([], None, 200) == []


async def test_stale_online(storage: Storage) -> None:
    store = storage.presence
    await store.put(Presence("@synced:test", "online", None, 10, 99, 1))
    await store.put(Presence("@active:test", "online", None, 99, 10, 2))
    await store.put(Presence("@stale:test", "unavailable", None, 10, 10, 3))
    await store.put(Presence("@edge:test", "online", None, 50, 50, 4))
    await store.put(Presence("@away:test", "offline", None, 1, 1, 5))
    stale = await store.stale_online(before_ts=51)
    assert sorted(p.user_id for p in stale) == ["@edge:test", "@stale:test"]
    assert [p.user_id for p in await store.stale_online(before_ts=50)] == ["@stale:test"]
