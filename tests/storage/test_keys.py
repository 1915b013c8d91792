"""End-to-end key storage on the engine under test: device keys, one-time and fallback
keys, cross-signing keys and signatures, and the device-list change stream."""

from __future__ import annotations

import asyncio
import json

from glia.storage import Storage
from glia.storage.keys import ClaimedKey, CrossSigningKey, MembershipChange, Signature
from tests.storage.helpers import device, member, room, uid, user


async def _user_with_devices(storage: Storage, *device_ids: str) -> str:
    async with storage.transaction() as tx:
        u = await user(tx)
        for d in device_ids:
            await device(tx, u, d)
    return u


async def test_device_keys(shared: Storage) -> None:
    u = await _user_with_devices(shared, "B", "A", "C")
    await shared.devices.set_display_name(u, "A", "Laptöp")
    keys = shared.keys
    a_json = json.dumps({"device_id": "A", "keys": {"ed25519:A": "ü"}}, ensure_ascii=False)
    assert await keys.set_device_keys(u, "A", a_json, 1)
    assert not await keys.set_device_keys(u, "A", a_json, 2)  # Unchanged.
    assert await keys.set_device_keys(u, "B", '{"device_id":"B"}', 3)
    # A device that does not exist gets no keys.
    assert await keys.set_device_keys(u, "GONE", '{"device_id":"GONE"}', 4)
    assert not await keys.has_device_keys(u, "GONE")
    got = await keys.get_device_keys(u, "A")
    assert got is not None
    assert (got.keys, got.key_json, got.display_name) == (json.loads(a_json), a_json, "Laptöp")
    assert await keys.get_device_keys(u, "C") is None
    assert [k.device_id for k in await keys.device_keys([(u, None)])] == ["A", "B"]
    assert [k.device_id for k in await keys.device_keys([(u, ["B", "C", "Z"])])] == ["B"]
    # An empty device list asks for every device.
    assert [k.device_id for k in await keys.device_keys([(u, [])])] == ["A", "B"]
    assert await keys.device_keys([]) == []
    # Deleting the device deletes its keys.
    await shared.devices.delete(u, "B")
    assert not await keys.has_device_keys(u, "B")


async def test_one_time_keys(shared: Storage) -> None:
    u = await _user_with_devices(shared, "D")
    keys = shared.keys
    await keys.add_one_time_keys(u, "D", 10, [("signed_curve25519", "k2", '{"key":"two"}'),
                                              ("signed_curve25519", "k1", '{"key":"one"}'),
                                              ("curve25519", "k1", '"plain"')])
    # Re-uploading a key ID keeps the stored key.
    await keys.add_one_time_keys(u, "D", 5, [("curve25519", "k1", '"changed"')])
    assert await keys.count_one_time_keys(u, "D") == {"signed_curve25519": 2, "curve25519": 1}
    assert await keys.one_time_keys(u, "D", ["curve25519:k1", "curve25519:nope", "bad"]) == {
        ("curve25519", "k1"): '"plain"'}
    assert await keys.one_time_keys(u, "D", []) == {}
    # Oldest first, then by key ID.
    assert await keys.claim_one_time_key(u, "D", "signed_curve25519") == ClaimedKey(
        "signed_curve25519:k1", {"key": "one"})
    assert await keys.claim_one_time_key(u, "D", "signed_curve25519") == ClaimedKey(
        "signed_curve25519:k2", {"key": "two"})
    assert await keys.claim_one_time_key(u, "D", "signed_curve25519") is None
    assert await keys.count_one_time_keys(u, "D") == {"curve25519": 1}
    assert await keys.count_one_time_keys(u, "NONE") == {}


async def test_concurrent_claims_take_different_keys(shared: Storage) -> None:
    u = await _user_with_devices(shared, "D")
    await shared.keys.add_one_time_keys(u, "D", 1, [("alg", f"k{i}", f'"{i}"')
                                                    for i in range(5)])

    async def claim() -> ClaimedKey | None:
        async with shared.transaction() as tx:
            return await tx.keys.claim_one_time_key(u, "D", "alg")

    claimed = await asyncio.gather(*(claim() for _ in range(7)))
    taken = sorted(c.key_id for c in claimed if c is not None)
    assert taken == [f"alg:k{i}" for i in range(5)]
    assert claimed.count(None) == 2


async def test_fallback_keys(shared: Storage) -> None:
    u = await _user_with_devices(shared, "D")
    keys = shared.keys
    await keys.set_fallback_key(u, "D", "signed_curve25519", "f1", '{"k":1}')
    await keys.set_fallback_key(u, "D", "alg2", "g1", '"g"')
    assert await keys.unused_fallback_key_types(u, "D") == ["alg2", "signed_curve25519"]
    for _ in range(2):  # Claiming marks it used but keeps it claimable.
        assert await keys.claim_fallback_key(u, "D", "signed_curve25519") == ClaimedKey(
            "signed_curve25519:f1", {"k": 1})
    assert await keys.unused_fallback_key_types(u, "D") == ["alg2"]
    # The same key uploaded again stays used; a new key is unused.
    await keys.set_fallback_key(u, "D", "signed_curve25519", "f1", '{"k":1}')
    assert await keys.unused_fallback_key_types(u, "D") == ["alg2"]
    await keys.set_fallback_key(u, "D", "signed_curve25519", "f2", '{"k":2}')
    assert await keys.unused_fallback_key_types(u, "D") == ["alg2", "signed_curve25519"]
    assert await keys.claim_fallback_key(u, "D", "signed_curve25519") == ClaimedKey(
        "signed_curve25519:f2", {"k": 2})
    assert await keys.claim_fallback_key(u, "D", "none") is None


async def test_cross_signing_and_signatures(shared: Storage) -> None:
    a, b = await _user_with_devices(shared), await _user_with_devices(shared)
    keys = shared.keys
    await keys.set_cross_signing_key(a, "self_signing", "S1", '{"k":"s1"}', 1)
    await keys.set_cross_signing_key(a, "master", "M1", '{"k":"m1"}', 1)
    await keys.set_cross_signing_key(a, "master", "M2", '{"k":"m2"}', 2)
    await keys.set_cross_signing_key(b, "master", "BM", '{"k":"b"}', 1)
    assert await keys.cross_signing_keys([b, a, a]) == [
        CrossSigningKey(a, "master", "M2", {"k": "m2"}, '{"k":"m2"}'),
        CrossSigningKey(a, "self_signing", "S1", {"k": "s1"}, '{"k":"s1"}'),
        CrossSigningKey(b, "master", "BM", {"k": "b"}, '{"k":"b"}')]
    assert await keys.cross_signing_keys([]) == []
    assert (await keys.cross_signing_key(a, "self_signing")) == CrossSigningKey(
        a, "self_signing", "S1", {"k": "s1"}, '{"k":"s1"}')
    assert await keys.cross_signing_key(a, "user_signing") is None
    await keys.add_signatures([Signature(a, "ed25519:S1", a, "DEV", "sig1"),
                               Signature(b, "ed25519:BU", a, "M2", "sig2"),
                               Signature(a, "ed25519:S1", a, "DEV", "sig1-new")])
    assert await keys.signatures_of(a, [a, b]) == [
        Signature(a, "ed25519:S1", a, "DEV", "sig1-new"),
        Signature(b, "ed25519:BU", a, "M2", "sig2")]
    assert await keys.signatures_of(a, [b]) == [Signature(b, "ed25519:BU", a, "M2", "sig2")]
    await keys.delete_signatures_of(a, "DEV")
    assert await keys.signatures_of(a, [a, b]) == [Signature(b, "ed25519:BU", a, "M2", "sig2")]


async def test_device_list_changes_and_shared_rooms(shared: Storage) -> None:
    me, friend, stranger, left = (f"@{uid(n)}:test" for n in ("me", "fr", "st", "lf"))
    async with shared.transaction() as tx:
        r, elsewhere = await room(tx), await room(tx)
        await member(tx, r, me)
        await member(tx, r, friend)
        await member(tx, r, left)
        leave = await member(tx, r, left, "leave")
        await member(tx, elsewhere, stranger)
        await member(tx, elsewhere, me, "invite")
    keys = shared.keys
    for i, u in enumerate((me, friend, stranger, left)):
        await keys.mark_device_list_changed(u, 9_000_000 + i)
    await keys.mark_signatures_changed(me, [stranger, stranger], 9_000_010)
    assert await keys.changed_for(me, 9_000_000 - 1, 9_000_010) == sorted([me, friend,
                                                                           stranger])
    assert await keys.changed_for(me, 9_000_000, 9_000_009) == [friend]
    assert await keys.changed_for(friend, 9_000_000 - 1, 9_000_010) == sorted([me, friend])
    assert await keys.rooms_with_membership(me) == {r: "join", elsewhere: "invite"}
    assert await keys.joined_members([r, elsewhere]) == {me, friend, stranger}
    assert await keys.joined_members([]) == set()
    assert await keys.sharing_a_room(me, [friend, stranger, left, me]) == {friend, me}
    assert await keys.sharing_a_room(me, []) == set()
    assert await keys.membership_at(r, left, leave.stream_ordering - 1) == "join"
    assert await keys.membership_at(r, left, leave.stream_ordering) == "leave"
    assert await keys.membership_at(r, stranger, leave.stream_ordering) is None
    changes = await keys.membership_changes([elsewhere, r], leave.stream_ordering - 1,
                                            leave.stream_ordering + 100)
    assert changes[0] == MembershipChange(r, left, "leave", leave.stream_ordering)
    assert [c.user_id for c in changes] == [left, stranger, me]
    assert await keys.membership_changes([], 0, 10**12) == []


async def test_signatures_of_no_signers_is_empty(shared: Storage) -> None:
    a = await _user_with_devices(shared)
    await shared.keys.add_signatures([Signature(a, "ed25519:X", a, "DEV", "s")])
    assert await shared.keys.signatures_of(a, []) == []
