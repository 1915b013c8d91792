"""The send-to-device inbox on the engine under test: transaction IDs, queueing for
existing devices only, delivery in stream order, acknowledgement and partial deliveries."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.to_device import ToDeviceMessage
from tests.storage.helpers import device, user


async def _user(storage: Storage, *devices: str) -> str:
    async with storage.transaction() as tx:
        u = await user(tx)
        for d in devices:
            await device(tx, u, d)
    return u


async def test_claim_txn(shared: Storage) -> None:
    u = await _user(shared, "D")
    td = shared.to_device
    assert await td.claim_txn(u, "D", "t1", 1_000, keep_ms=100)
    assert not await td.claim_txn(u, "D", "t1", 1_050, keep_ms=100)
    # Once older than keep_ms it is forgotten and may be claimed again.
    assert await td.claim_txn(u, "D", "t1", 1_101, keep_ms=100)
    # No such device: nothing is recorded.
    assert not await td.claim_txn(u, "GONE", "t1", 1_000, keep_ms=100)
    assert await td.device_ids(u) == ["D"]


async def test_queue_pending_acknowledge(shared: Storage) -> None:
    u = await _user(shared, "B", "A")
    td = shared.to_device
    assert await td.add(10, "@s:test", "m.x", [(u, "A", {"n": 1, "t": "ü"}),
                                                (u, "B", {"n": 1}),
                                                (u, "GONE", {"n": 1})]) == 2
    assert await td.add(11, "@s:test", "m.y", [(u, "A", {"n": 2})]) == 1
    assert await td.add(12, "@s:test", "m.z", [(u, "A", {"n": 3})]) == 1
    assert await td.add(13, "@s:test", "m.z", []) == 0
    assert await td.device_ids(u) == ["A", "B"]
    assert await td.pending(u, "A", 12, 2) == [
        ToDeviceMessage(10, "@s:test", "m.x", {"n": 1, "t": "ü"}),
        ToDeviceMessage(11, "@s:test", "m.y", {"n": 2})]
    assert [m.stream for m in await td.pending(u, "A", 11, 10)] == [10, 11]
    assert await td.has_acknowledgeable(u, "A", 10, 0)
    assert not await td.has_acknowledgeable(u, "A", 9, 0)
    await td.acknowledge(u, "A", 11, 0)
    assert [m.stream for m in await td.pending(u, "A", 100, 10)] == [12]
    assert [m.stream for m in await td.pending(u, "B", 100, 10)] == [10]
    # Deleting the device empties its inbox.
    await shared.devices.delete(u, "B")
    assert await td.pending(u, "B", 100, 10) == []


async def test_partial_deliveries(shared: Storage) -> None:
    u = await _user(shared, "D")
    td = shared.to_device
    await td.record_delivered(u, "D", 20, 15)
    await td.record_delivered(u, "D", 20, 17)
    await td.record_delivered(u, "D", 30, 25)
    await td.record_delivered(u, "GONE", 30, 25)
    assert await td.delivered_upto(u, "D", 20) == 17
    assert await td.delivered_upto(u, "D", 30) == 25
    assert await td.delivered_upto(u, "GONE", 30) is None
    assert await td.has_acknowledgeable(u, "D", 0, 21)
    assert not await td.has_acknowledgeable(u, "D", 0, 20)
    # Marks of syncs older than ``upto`` go; the one for ``upto`` stays.
    await td.acknowledge(u, "D", 0, 30)
    assert await td.delivered_upto(u, "D", 20) is None
    assert await td.delivered_upto(u, "D", 30) == 25
