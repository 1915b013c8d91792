"""Federation destinations on the engine under test, rows written directly (the
federation sender will write them): ordering with never-set values, paging, the name
filter, rooms per destination, and resetting the back-off."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.federation_destinations import Destination, DestinationRoom


async def _fill(storage: Storage) -> None:
    store = storage.federation_destinations
    for d in (Destination("b.example", 300, 60, 250, 7),
              Destination("a.example", None, None, None, 9),
              Destination("c.other", 100, 600, 90, None),
              Destination("d_x.example", 200, 60, None, 1)):
        await store.upsert(d)


async def test_ordering_paging_and_filter(storage: Storage) -> None:
    await _fill(storage)
    store = storage.federation_destinations

    async def names(**kw: object) -> tuple[list[str], int]:
        args: dict = {"search": None, "order_by": "destination", "backwards": False,
                      "offset": 0, "limit": 100, **kw}
        found, total = await store.page(**args)
        return [d.destination for d in found], total

    assert await names() == (["a.example", "b.example", "c.other", "d_x.example"], 4)
    assert await names(backwards=True) == (
        ["d_x.example", "c.other", "b.example", "a.example"], 4)
    # A never-set value sorts first ascending and last descending, on both engines.
    assert await names(order_by="retry_last_ts") == (
        ["a.example", "c.other", "d_x.example", "b.example"], 4)
    assert await names(order_by="retry_last_ts", backwards=True) == (
        ["b.example", "d_x.example", "c.other", "a.example"], 4)
    # Ties break by name.
    assert (await names(order_by="retry_interval"))[0][1:3] == ["b.example", "d_x.example"]
    assert await names(order_by="retry_last_ts", offset=1, limit=2) == (
        ["c.other", "d_x.example"], 4)
    # The filter ignores case.
    assert await names(search=".EXAMPLE", order_by="failure_ts") == (
        ["a.example", "d_x.example", "b.example"], 3)
    # LIKE wildcards in the filter are literal.
    assert await names(search="_x") == (["d_x.example"], 1)
    assert await names(search="%") == ([], 0)


async def test_get_rooms_and_reset(storage: Storage) -> None:
    await _fill(storage)
    store = storage.federation_destinations
    assert await store.get("nope.example") is None
    assert await store.get("b.example") == Destination("b.example", 300, 60, 250, 7)
    for room, position in (("!r2:x", 5), ("!r1:x", 3), ("!r3:x", 8)):
        await store.set_room("b.example", room, position)
    await store.set_room("c.other", "!r9:x", 1)
    await store.set_room("b.example", "!r1:x", 4)  # moved on
    assert await store.rooms("b.example", backwards=False, offset=0, limit=2) == (
        [DestinationRoom("!r1:x", 4), DestinationRoom("!r2:x", 5)], 3)
    assert await store.rooms("b.example", backwards=True, offset=0, limit=10) == (
        [DestinationRoom("!r3:x", 8), DestinationRoom("!r2:x", 5),
         DestinationRoom("!r1:x", 4)], 3)
    assert await store.rooms("a.example", backwards=False, offset=0, limit=10) == ([], 0)
    await store.reset_retry("b.example")
    assert await store.get("b.example") == Destination("b.example", 0, 0, None, 7)
    assert await store.get("c.other") == Destination("c.other", 100, 600, 90, None)
