"""The admin room store on the engine under test: room statistics kept by the writer,
the admin room list (search, filters, orders, pages), blocks, and purges of a room or of
its history."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from glia.storage import Storage, open_storage
from glia.storage.admin_rooms import ROOM_TABLES, RoomListQuery
from tests.storage.conftest import config_for
from tests.storage.helpers import event, member, room, uid


async def _room(storage: Storage) -> str:
    async with storage.transaction() as tx:
        r = await room(tx)
        await tx.admin_rooms.create_stats(r, None, True)
    return r


async def test_stats_and_counts(shared: Storage) -> None:
    r = await _room(shared)
    ar = shared.admin_rooms
    await ar.create_stats(r, "m.space", False)  # Already there: kept as it was.
    async with shared.transaction() as tx:
        await member(tx, r, "@a:test")
        await member(tx, r, "@b:remote.example")
        await member(tx, r, "@c:test", "invite")
        await member(tx, r, "@d:test_x")  # Not local: "_" is no wildcard.
        await tx.state.set(r, "m.room.name", "", "$name", None, 1)
    await ar.set_stat(r, "name", "Rööm")
    await ar.set_stat(r, "tombstone_successor", "!next:test")
    with pytest.raises(ValueError):
        await ar.set_stat(r, "joined_members", "5")
    await ar.recount(r, "test")
    row = await ar.get(r)
    assert row is not None
    assert {k: row[k] for k in ("name", "room_type", "joined_members", "joined_local_members",
                                "state_events", "tombstone_successor")} == {
        "name": "Rööm", "room_type": None, "joined_members": 3, "joined_local_members": 1,
        "state_events": 5, "tombstone_successor": "!next:test"}
    assert bool(row["federatable"]) is True
    await ar.adjust_counts(r, 2, -1, 0)
    await ar.adjust_counts(r, 0, 0, 0)
    row = await ar.get(r)
    assert row is not None
    assert (row["state_events"], row["joined_members"], row["joined_local_members"]) == (7, 2, 1)
    assert await ar.local_devices_of_joined(r, "test") == 0
    await shared.users.create("@a:test", None, admin=False, user_type=None, creation_ts=1)
    await shared.devices.upsert("@a:test", "D1", None, 1)
    await shared.devices.upsert("@a:test", "D2", None, 1)
    assert await ar.local_devices_of_joined(r, "test") == 2
    assert await ar.get("!missing:test") is None


async def test_forgotten_by_all_local(shared: Storage) -> None:
    r = await _room(shared)
    async with shared.transaction() as tx:
        await member(tx, r, "@a:test")
        await member(tx, r, "@b:test", "leave")
        await member(tx, r, "@x:remote.example")
    ar = shared.admin_rooms
    assert not await ar.forgotten_by_all_local(r, "test")
    await shared.rooms.forget("@b:test", r)
    assert not await ar.forgotten_by_all_local(r, "test")
    await shared.rooms.forget("@a:test", r)
    assert await ar.forgotten_by_all_local(r, "test")


async def test_blocks(shared: Storage) -> None:
    r = f"!{uid('never-created')}:test"
    ar = shared.admin_rooms
    assert await ar.blocked_by(r) is None
    await ar.block(r, "@admin:test", 1)
    await ar.block(r, "@other:test", 2)  # The first block stands.
    assert await ar.blocked_by(r) == "@admin:test"
    await ar.unblock(r)
    await ar.unblock(r)
    assert await ar.blocked_by(r) is None


# -- the list ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listed_url(new_database_url: Callable[[], str]) -> str:
    return new_database_url()


@pytest_asyncio.fixture(scope="module")
async def listed(listed_url: str) -> AsyncIterator[Storage]:
    """Four rooms, alone in their database: names, aliases, sizes, publication."""
    s = await open_storage(config_for(listed_url))
    async with s.transaction() as tx:
        for room_id, name, alias, joined, public in [
                ("!a:test", "Garden", "#garden:test", 3, True),
                ("!b:test", None, "#b_100%:test", 0, False),
                ("!c:test", "kitchen 100%", None, 5, True),
                ("!d:test", "Attic", None, 3, False)]:
            await tx.rooms.create(room_id, "12" if room_id != "!d:test" else "10",
                                  "@creator:test", 1)
            await tx.admin_rooms.create_stats(room_id, None, True)
            if name is not None:
                await tx.admin_rooms.set_stat(room_id, "name", name)
            if alias is not None:
                await tx.admin_rooms.set_stat(room_id, "canonical_alias", alias)
            await tx.admin_rooms.adjust_counts(room_id, joined, joined, joined)
            await tx.rooms.set_published(room_id, public)
    try:
        yield s
    finally:
        await s.close()


async def _ids(storage: Storage, query: RoomListQuery, offset: int = 0,
               limit: int = 10) -> tuple[list[str], int]:
    rows, total = await storage.admin_rooms.page(query, offset, limit)
    return [r["room_id"] for r in rows], total


async def test_list_search_and_filters(listed: Storage) -> None:
    assert await _ids(listed, RoomListQuery(search_term="GARDEN")) == (["!a:test"], 1)
    # Aliases match on their localpart; the room ID matches exactly.
    assert await _ids(listed, RoomListQuery(search_term="b_100")) == (["!b:test"], 1)
    assert await _ids(listed, RoomListQuery(search_term="!d:test")) == (["!d:test"], 1)
    assert await _ids(listed, RoomListQuery(search_term="!D:test")) == ([], 0)
    # LIKE wildcards are literal.
    ids, total = await _ids(listed, RoomListQuery(search_term="100%"))
    assert (sorted(ids), total) == (["!b:test", "!c:test"], 2)
    assert await _ids(listed, RoomListQuery(search_term="_")) == (["!b:test"], 1)
    assert await _ids(listed, RoomListQuery(public=True)) == (["!a:test", "!c:test"], 2)
    assert await _ids(listed, RoomListQuery(empty=True)) == (["!b:test"], 1)
    assert (await _ids(listed, RoomListQuery(empty=False)))[1] == 3


async def test_list_orders_and_pages(listed: Storage) -> None:
    size = RoomListQuery(order_by="joined_members")
    # Descending by default; ties follow the room ID in the same direction.
    assert await _ids(listed, size) == (["!c:test", "!d:test", "!a:test", "!b:test"], 4)
    assert await _ids(listed, RoomListQuery(order_by="size", backwards=True)) == (
        ["!b:test", "!a:test", "!d:test", "!c:test"], 4)
    assert await _ids(listed, size, offset=1, limit=2) == (["!d:test", "!a:test"], 4)
    assert await _ids(listed, size, offset=4, limit=2) == ([], 4)
    assert (await _ids(listed, RoomListQuery(order_by="version")))[0][0] == "!c:test"


async def test_list_orders_nulls_first_on_both_engines(listed: Storage) -> None:
    """A room without a name or alias sorts as the smallest value on both engines."""
    assert (await _ids(listed, RoomListQuery(order_by="name")))[0] == [
        "!b:test", "!d:test", "!a:test", "!c:test"]
    assert (await _ids(listed, RoomListQuery(order_by="name", backwards=True)))[0] == [
        "!c:test", "!a:test", "!d:test", "!b:test"]
    assert (await _ids(listed, RoomListQuery(order_by="canonical_alias")))[0] == [
        "!c:test", "!d:test", "!b:test", "!a:test"]


# -- purges ------------------------------------------------------------------------------


async def test_purging_a_room(shared: Storage) -> None:
    r, kept = await _room(shared), await _room(shared)
    async with shared.transaction() as tx:
        for target in (r, kept):
            await member(tx, target, "@a:test")
            for _ in range(4):
                await event(tx, target)
            await tx.rooms.set_forward_extremities(target, ["$x"])
            await tx.directory.create_alias(f"#{uid('a')}:test", target, "@a:test", 1)
            await tx.rooms.forget("@a:test", target)
            # What other servers sent that never entered the timeline goes too.
            await tx.federation_queue.add_soft_failed(uid("$soft"), target, "remote.example",
                                                      {"type": "m.room.message"}, "why", 1)
            await tx.federation_queue.add_outlier(uid("$outlier"), target, "remote.example",
                                                  {"type": "m.room.member"}, 1)
            await tx.federation_knocks.put(target, "@a:test", "remote.example", 1)
    ar = shared.admin_rooms
    assert await ar.count_events(r) == 5
    assert await ar.delete_event_batch(r, 2) == 2
    assert await ar.count_events(r) == 3
    assert await ar.delete_event_batch(r, 10) == 3
    assert await ar.delete_event_batch(r, 10) == 0
    await ar.delete_room_rows(r)
    assert await shared.rooms.get(r) is None
    for table in (*ROOM_TABLES, "federation_soft_failed", "federation_outliers"):
        assert await shared.db.fetchval(
            f"SELECT COUNT(*) FROM {table} WHERE room_id = ?", r) == 0, table
    # The other room is untouched.
    assert await ar.count_events(kept) == 5
    assert await shared.rooms.forward_extremities(kept) == ["$x"]
    assert len(await shared.directory.aliases_of(kept)) == 1
    assert await shared.federation_knocks.server_of(kept, "@a:test") == "remote.example"
    assert await ar.rooms_without_stats() == []


async def test_history_purges(shared: Storage) -> None:
    r = await _room(shared)
    async with shared.transaction() as tx:
        e1 = await event(tx, r, sender="@a:test", depth=1)
        s2 = await event(tx, r, sender="@a:test", type="m.room.name", state_key="", depth=2)
        e3 = await event(tx, r, sender="@b:remote.example", depth=2)
        e4 = await event(tx, r, sender="@a:test", depth=3)
        await tx.rooms.set_forward_extremities(r, [e4.event_id, "$other1", "$other2"])
    ar = shared.admin_rooms
    before = (e4.depth, e4.stream_ordering)
    assert await ar.history_batch(r, before, None, 10) == [e1.event_id, e3.event_id]
    assert await ar.history_batch(r, before, None, 1) == [e1.event_id]
    assert await ar.history_batch(r, before, ":remote.example", 10) == [e1.event_id]
    assert await ar.history_batch(r, (e3.depth, e3.stream_ordering), None, 10) == [
        e1.event_id]
    assert s2.event_id not in await ar.history_batch(r, (99, 10**12), None, 10)
    assert await ar.delete_events([e1.event_id, e3.event_id, "$missing"]) == 2
    assert await ar.delete_events([]) == 0
    assert await ar.count_events(r) == 2
    assert await ar.delete_forward_extremities_except(r, e4.event_id) == 2
    assert await shared.rooms.forward_extremities(r) == [e4.event_id]


async def test_rooms_without_stats_or_local_members(storage: Storage) -> None:
    await storage.rooms.create("!bare:test", "12", "@a:test", 1)
    await storage.rooms.create("!counted:test", "12", "@a:test", 1)
    await storage.admin_rooms.create_stats("!counted:test", None, True)
    await storage.rooms.create("!lived-in:test", "12", "@a:test", 1)
    await storage.admin_rooms.create_stats("!lived-in:test", None, True)
    await storage.admin_rooms.adjust_counts("!lived-in:test", 1, 1, 1)
    assert await storage.admin_rooms.rooms_without_stats() == ["!bare:test"]
    assert await storage.admin_rooms.rooms_without_local_members() == ["!counted:test"]
