"""The outbound federation queue on the engine under test: a sent transaction removes
exactly the rows it carried."""

from __future__ import annotations

from glia.storage import Storage


async def test_a_row_queued_below_a_sent_batch_stays(storage: Storage) -> None:
    """Two processes share the queue: an event can take stream position 2 before
    another takes 3, yet commit (and be queued) after the sender read a batch holding
    3. Removing the batch must leave 2 to be sent (it was lost when rows up to the
    batch's last position were removed)."""
    queue = storage.federation_queue
    await queue.add(["b.test"], 1, "$one", 1)
    await queue.add(["b.test"], 3, "$three", 1)
    batch = await queue.next_batch("b.test", 50)
    await queue.add(["b.test"], 2, "$two", 2)
    await queue.remove("b.test", batch)
    assert [q.event_id for q in await queue.next_batch("b.test", 50)] == ["$two"]
    await queue.remove("b.test", [])
    assert await queue.length("b.test") == 1
