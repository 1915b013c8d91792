"""Typing notifications on the engine under test: expiry, per-room change positions."""

from __future__ import annotations

from glia.storage import Storage
from tests.storage.helpers import uid


async def test_start_stop_and_who_types(shared: Storage) -> None:
    r = f"!{uid('r')}:test"
    store = shared.typing
    await store.start(r, "@b:test", 2_000, 10)
    await store.start(r, "@a:test", 1_000, 11)
    assert await store.typing_in(r, 999) == ["@a:test", "@b:test"]
    # Expiry is exclusive: at expires_ts the user no longer types.
    assert await store.typing_in(r, 1_000) == ["@b:test"]
    # Starting again extends the same row.
    await store.start(r, "@a:test", 3_000, 12)
    assert await store.typing_in(r, 2_500) == ["@a:test"]
    assert await store.stop(r, "@a:test", 13)
    assert not await store.stop(r, "@a:test", 14)
    assert await store.typing_in(r, 0) == ["@b:test"]
    assert await store.typing_in(f"!{uid('empty')}:test", 0) == []


async def test_changed_rooms_window(shared: Storage) -> None:
    r1, r2, r3 = (f"!{uid('r')}:test" for _ in range(3))
    store = shared.typing
    await store.start(r1, "@a:test", 10, 100)
    await store.start(r2, "@a:test", 10, 101)
    await store.start(r3, "@a:test", 10, 102)
    assert sorted(await store.changed_rooms([r1, r2, r3], None, 101)) == sorted([r1, r2])
    assert await store.changed_rooms([r1, r2, r3], 101, 200) == [r3]
    # A stop that changed nothing does not move the room's position.
    assert not await store.stop(r1, "@nobody:test", 150)
    assert await store.changed_rooms([r1], 100, 200) == []
    assert await store.stop(r1, "@a:test", 151)
    assert await store.changed_rooms([r1], 100, 200) == [r1]
    assert await store.changed_rooms([], None, 200) == []


async def test_expired(shared: Storage) -> None:
    r = f"!{uid('r')}:test"
    store = shared.typing
    # Far-future expiries, so rows of other tests of this module never show up here.
    await store.start(r, "@a:test", 9_000_000_000_000, 1)
    await store.start(r, "@b:test", 9_000_000_000_001, 1)
    expired = [e for e in await store.expired(9_000_000_000_000) if e[0] == r]
    assert expired == [(r, "@a:test")]
