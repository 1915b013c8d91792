"""The device store on the engine under test: devices, where they were seen from, and
their access tokens."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.devices import Device, TokenOwner
from tests.storage.helpers import MAX_SAFE, uid, user


async def _user(storage: Storage) -> str:
    async with storage.transaction() as tx:
        return await user(tx)


async def test_upsert_keeps_the_device_and_its_name(shared: Storage) -> None:
    u = await _user(shared)
    await shared.devices.upsert(u, "PHONE", "Phöne 📱", 10)
    await shared.devices.upsert(u, "PHONE", None, 20)
    assert await shared.devices.get(u, "PHONE") == Device(u, "PHONE", "Phöne 📱", 10, None,
                                                          None, None)
    await shared.devices.upsert(u, "PHONE", "Renamed", 30)
    device = await shared.devices.get(u, "PHONE")
    assert device is not None and (device.display_name, device.created_ts) == ("Renamed", 10)
    assert await shared.devices.get(u, "phone") is None


async def test_list_is_per_user_and_ordered(shared: Storage) -> None:
    a, b = await _user(shared), await _user(shared)
    for device_id in ("b", "A", "a"):
        await shared.devices.upsert(a, device_id, None, 1)
    await shared.devices.upsert(b, "A", None, 1)
    assert [d.device_id for d in await shared.devices.list(a)] == ["A", "a", "b"]
    assert [d.device_id for d in await shared.devices.list(b)] == ["A"]
    assert await shared.devices.list("@ghost:test") == []


async def test_record_seen_and_connections(shared: Storage) -> None:
    u = await _user(shared)
    await shared.devices.upsert(u, "D1", None, 1)
    await shared.devices.upsert(u, "D2", None, 1)
    await shared.devices.record_seen(u, "D1", 100, "10.0.0.1", "ua1", token_hash="t1")
    await shared.devices.record_seen(u, "D1", MAX_SAFE, "10.0.0.2", "ua2", token_hash="t1")
    await shared.devices.record_seen(u, "D1", 300, "10.0.0.1", "ua3", token_hash="t1")
    # Another token of the same device from the same address is a connection of its own.
    await shared.devices.record_seen(u, "D1", 200, "10.0.0.1", "ua5", token_hash="t2")
    # Without an address only the device's last-seen columns change.
    await shared.devices.record_seen(u, "D2", 50, None, "ua4", token_hash="t3")
    assert await shared.devices.get(u, "D1") == Device(u, "D1", None, 1, 200, "10.0.0.1",
                                                       "ua5")
    assert await shared.devices.get(u, "D2") == Device(u, "D2", None, 1, 50, None, "ua4")
    assert [dict(r) for r in await shared.devices.connections(u)] == [
        {"device_id": "D1", "ip": "10.0.0.2", "user_agent": "ua2", "last_seen": MAX_SAFE},
        {"device_id": "D1", "ip": "10.0.0.1", "user_agent": "ua3", "last_seen": 300},
        {"device_id": "D1", "ip": "10.0.0.1", "user_agent": "ua5", "last_seen": 200}]


async def test_address_history_outlives_devices_until_pruned(shared: Storage) -> None:
    u = await _user(shared)
    for d, ts in (("D1", 100), ("D2", 500)):
        await shared.devices.upsert(u, d, None, 1)
        await shared.devices.add_token(f"{u}{d}", u, d, 1)
        await shared.devices.record_seen(u, d, ts, "10.0.0.9", None, token_hash=f"{u}{d}")
    await shared.devices.delete(u, "D1")
    await shared.devices.delete_all_for_user(u)
    assert [r["device_id"] for r in await shared.devices.connections(u)] == ["D2", "D1"]
    assert await shared.devices.prune_addresses(500) >= 1
    assert [r["device_id"] for r in await shared.devices.connections(u)] == ["D2"]


async def test_set_display_name(shared: Storage) -> None:
    u = await _user(shared)
    await shared.devices.upsert(u, "D", "old", 1)
    await shared.devices.set_display_name(u, "D", None)
    device = await shared.devices.get(u, "D")
    assert device is not None and device.display_name is None


async def test_tokens(shared: Storage) -> None:
    u, admin = await _user(shared), await _user(shared)
    await shared.devices.upsert(u, "D", None, 1)
    t1, t2 = uid("hash"), uid("hash")
    await shared.devices.add_token(t1, u, "D", 5)
    await shared.devices.add_token(t2, u, "D", 5, puppeted_by=admin, valid_until_ms=MAX_SAFE)
    assert await shared.devices.token_owner(t1) == TokenOwner(u, "D", False, False, False,
                                                              False, None, None)
    # The minter is not (yet) an admin: the impersonation token is not in good standing.
    assert await shared.devices.token_owner(t2) == TokenOwner(u, "D", False, False, False,
                                                              False, admin, MAX_SAFE, False)
    await shared.users.set_admin(admin, True)
    owner = await shared.devices.token_owner(t2)
    assert owner is not None and owner.minter_in_good_standing
    # The owner's flags are read at lookup time.
    await shared.users.set_locked(u, True)
    owner = await shared.devices.token_owner(t1)
    assert owner is not None and owner.locked
    await shared.devices.delete_token(t1)
    assert await shared.devices.token_owner(t1) is None
    assert await shared.devices.token_owner(t2) is not None


async def test_delete_takes_tokens_of_that_device_only(shared: Storage) -> None:
    u = await _user(shared)
    for d in ("D1", "D2"):
        await shared.devices.upsert(u, d, None, 1)
        await shared.devices.add_token(f"{u}{d}", u, d, 1)
    await shared.devices.delete(u, "D1")
    assert await shared.devices.get(u, "D1") is None
    assert await shared.devices.token_owner(f"{u}D1") is None
    assert await shared.devices.token_owner(f"{u}D2") is not None


async def test_delete_all_for_user(shared: Storage) -> None:
    u, admin = await _user(shared), await _user(shared)
    for d in ("KEEP", "GO1", "GO2"):
        await shared.devices.upsert(u, d, None, 1)
        await shared.devices.add_token(f"{u}{d}", u, d, 1)
    await shared.devices.upsert(admin, "ADM", None, 1)
    # The admin's token to act as ``u`` (on u's device KEEP) is the admin's...
    await shared.devices.add_token(f"{u}puppet", u, "GO1", 1, puppeted_by=admin)
    # ...and ``u``'s own token for acting as someone else goes with ``u``.
    await shared.devices.add_token(f"{admin}puppet", admin, "ADM", 1, puppeted_by=u)
    await shared.devices.delete_all_for_user(u, except_device="KEEP")
    assert [d.device_id for d in await shared.devices.list(u)] == ["KEEP"]
    assert await shared.devices.token_owner(f"{u}KEEP") is not None
    assert await shared.devices.token_owner(f"{u}GO1") is None
    assert await shared.devices.token_owner(f"{u}puppet") is not None
    assert await shared.devices.token_owner(f"{admin}puppet") is None
    assert [d.device_id for d in await shared.devices.list(admin)] == ["ADM"]
    await shared.devices.delete_all_for_user(u)
    assert await shared.devices.list(u) == []
    assert await shared.devices.token_owner(f"{u}KEEP") is None
