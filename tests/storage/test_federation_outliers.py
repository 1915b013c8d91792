"""Outliers (auth events fetched from other servers) on the engine under test: kept per
room, read back by ID, a second copy of one ignored."""

from __future__ import annotations

from glia.storage import Storage


async def test_outliers_by_room_and_id(storage: Storage) -> None:
    store = storage.federation_queue
    pdu = {"type": "m.room.member", "content": {"displayname": "Bé"}}
    await store.add_outlier("$a", "!r:x", "x", pdu, 1)
    await store.add_outlier("$a", "!r:x", "x", {"other": True}, 2)
    await store.add_outlier("$b", "!other:x", "x", {"type": "m.room.message"}, 1)
    assert await store.outliers("!r:x", ["$a", "$b", "$c"]) == {"$a": pdu}
    assert await store.outliers("!r:x", []) == {}


async def test_soft_failed_events_by_room_and_id(storage: Storage) -> None:
    """State resolution reads soft-failed events back: a later event may build on one."""
    store = storage.federation_queue
    pdu = {"type": "m.room.topic", "content": {"topic": "é"}}
    await store.add_soft_failed("$s1", "!r:x", "x", pdu, "too low", 1)
    await store.add_soft_failed("$s2", "!other:x", "x", {"type": "t"}, "no", 1)
    assert await store.soft_failed("!r:x", ["$s1", "$s2", "$none"]) == {"$s1": pdu}
    assert await store.soft_failed("!r:x", []) == {}
