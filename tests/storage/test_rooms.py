"""The room store on the engine under test: rooms, publication, forward extremities,
forgetting, and the per-room writer lock."""

from __future__ import annotations

import asyncio

import pytest

from glia.storage import Storage
from glia.storage.rooms import Room
from tests.storage.helpers import MAX_SAFE, uid


async def test_create_and_get(shared: Storage) -> None:
    room_id = f"!{uid('r')}:test"
    await shared.rooms.create(room_id, "10", "@ü:test", MAX_SAFE)
    assert await shared.rooms.get(room_id) == Room(room_id, "10", "@ü:test", MAX_SAFE, False)
    assert await shared.rooms.get(room_id.upper()) is None
    with pytest.raises(Exception):  # noqa: B017 - the primary key
        await shared.rooms.create(room_id, "12", "@other:test", 1)


async def test_publication(storage: Storage) -> None:
    for room_id in ("!c:test", "!a:test", "!b:test"):
        await storage.rooms.create(room_id, "12", "@a:test", 1)
    assert await storage.rooms.published_room_ids() == []
    await storage.rooms.set_published("!c:test", True)
    await storage.rooms.set_published("!a:test", True)
    await storage.rooms.set_published("!nowhere:test", True)
    assert await storage.rooms.published_room_ids() == ["!a:test", "!c:test"]
    await storage.rooms.set_published("!c:test", False)
    assert await storage.rooms.published_room_ids() == ["!a:test"]
    room = await storage.rooms.get("!a:test")
    assert room is not None and room.published


async def test_forward_extremities_are_replaced_whole(shared: Storage) -> None:
    r1, r2 = f"!{uid('r')}:test", f"!{uid('r')}:test"
    for room_id in (r1, r2):
        await shared.rooms.create(room_id, "12", "@a:test", 1)
    await shared.rooms.set_forward_extremities(r1, ["$b", "$a"])
    await shared.rooms.set_forward_extremities(r2, ["$z"])
    assert await shared.rooms.forward_extremities(r1) == ["$a", "$b"]
    await shared.rooms.set_forward_extremities(r1, ["$c"])
    assert await shared.rooms.forward_extremities(r1) == ["$c"]
    await shared.rooms.set_forward_extremities(r1, [])
    assert await shared.rooms.forward_extremities(r1) == []
    assert await shared.rooms.forward_extremities(r2) == ["$z"]


async def test_forget_and_unforget(shared: Storage) -> None:
    u, r = f"@{uid('u')}:test", f"!{uid('r')}:test"
    assert not await shared.rooms.is_forgotten(u, r)
    await shared.rooms.forget(u, r)
    await shared.rooms.forget(u, r)  # Twice is the same as once.
    assert await shared.rooms.is_forgotten(u, r)
    assert not await shared.rooms.is_forgotten(f"@{uid('v')}:test", r)
    await shared.rooms.unforget(u, r)
    assert not await shared.rooms.is_forgotten(u, r)


async def test_lock_serialises_writers_of_one_room(shared: Storage) -> None:
    r = f"!{uid('r')}:test"
    order: list[str] = []

    async def writer(name: str) -> None:
        async with shared.transaction() as tx:
            await tx.rooms.lock(r)
            order.append(f"{name} in")
            await asyncio.sleep(0.05)
            order.append(f"{name} out")

    await asyncio.gather(writer("a"), writer("b"))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
