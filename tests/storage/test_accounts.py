"""Account stores round-trip on the engine under test: users, profiles, devices and tokens,
registration nonces, UIA sessions."""

from __future__ import annotations

import pytest

from glia.storage import Storage


async def make_user(storage: Storage, user_id: str = "@alice:test", **kwargs: object) -> None:
    args: dict[str, object] = {"admin": False, "user_type": None, "creation_ts": 1234}
    args.update(kwargs)
    async with storage.transaction() as tx:
        await tx.users.create(user_id, "$2b$04$hash", **args)  # type: ignore[arg-type]
        await tx.profile.create(user_id, user_id[1:].split(":")[0])


# -- users -----------------------------------------------------------------------------------


async def test_user_round_trip(storage: Storage) -> None:
    created = await storage.users.create("@bob:test", "$2b$04$x", admin=True, user_type="bot",
                                         creation_ts=42)
    user = await storage.users.get("@bob:test")
    assert user == created
    assert user is not None
    assert (user.user_id, user.password_hash, user.admin, user.user_type) == (
        "@bob:test", "$2b$04$x", True, "bot")
    assert (user.is_guest, user.deactivated, user.locked, user.creation_ts) == (
        False, False, False, 42)
    assert await storage.users.get("@nobody:test") is None


async def test_user_without_password(storage: Storage) -> None:
    await storage.users.create("@nopw:test", None, admin=False, user_type=None, creation_ts=1)
    user = await storage.users.get("@nopw:test")
    assert user is not None and user.password_hash is None


async def test_user_ids_clash_case_insensitively(storage: Storage) -> None:
    await make_user(storage, "@alice:test")
    assert await storage.users.exists_case_insensitive("@ALICE:test")
    assert await storage.users.exists_case_insensitive("@alice:TEST")
    assert not await storage.users.exists_case_insensitive("@alicia:test")
    with pytest.raises(Exception):  # noqa: B017 - the unique index on lower(user_id)
        await storage.users.create("@Alice:test", None, admin=False, user_type=None,
                                   creation_ts=1)
    # Exact lookups stay exact.
    assert await storage.users.get("@ALICE:test") is None


async def test_user_flags(storage: Storage) -> None:
    await make_user(storage)
    await storage.users.set_admin("@alice:test", True)
    await storage.users.set_locked("@alice:test", True)
    await storage.users.set_user_type("@alice:test", "support")
    await storage.users.set_password_hash("@alice:test", None)
    await storage.users.set_deactivated("@alice:test", True)
    user = await storage.users.get("@alice:test")
    assert user is not None
    assert (user.admin, user.locked, user.user_type, user.password_hash, user.deactivated) == (
        True, True, "support", None, True)
    await storage.users.set_admin("@alice:test", False)
    await storage.users.set_user_type("@alice:test", None)
    user = await storage.users.get("@alice:test")
    assert user is not None and user.admin is False and user.user_type is None


# -- profiles -----------------------------------------------------------------------------------


async def test_profile_round_trip(storage: Storage) -> None:
    await make_user(storage)
    profile = await storage.profile.get("@alice:test")
    assert profile is not None
    assert (profile.displayname, profile.avatar_url) == ("alice", None)
    await storage.profile.set_displayname("@alice:test", "Alice 🐝")
    await storage.profile.set_avatar_url("@alice:test", "mxc://test/abc")
    profile = await storage.profile.get("@alice:test")
    assert profile is not None
    assert (profile.displayname, profile.avatar_url) == ("Alice 🐝", "mxc://test/abc")
    await storage.profile.set_displayname("@alice:test", None)
    profile = await storage.profile.get("@alice:test")
    assert profile is not None and profile.displayname is None
    assert await storage.profile.get("@nobody:test") is None


# -- devices and tokens -------------------------------------------------------------------------


async def test_device_round_trip(storage: Storage) -> None:
    await make_user(storage)
    await storage.devices.upsert("@alice:test", "DEV1", "Phone", 100)
    device = await storage.devices.get("@alice:test", "DEV1")
    assert device is not None
    assert (device.user_id, device.device_id, device.display_name, device.created_ts) == (
        "@alice:test", "DEV1", "Phone", 100)
    assert device.last_seen_ts is None and device.last_seen_ip is None
    # Upserting again keeps the name unless a new one is given, and the creation time.
    await storage.devices.upsert("@alice:test", "DEV1", None, 200)
    device = await storage.devices.get("@alice:test", "DEV1")
    assert device is not None and device.display_name == "Phone" and device.created_ts == 100
    await storage.devices.upsert("@alice:test", "DEV1", "Tablet", 300)
    device = await storage.devices.get("@alice:test", "DEV1")
    assert device is not None and device.display_name == "Tablet"

    await storage.devices.record_seen("@alice:test", "DEV1", 555, "10.0.0.1", "nio/0.26",
                                       token_hash="t")
    device = await storage.devices.get("@alice:test", "DEV1")
    assert device is not None
    assert (device.last_seen_ts, device.last_seen_ip, device.last_seen_user_agent) == (
        555, "10.0.0.1", "nio/0.26")
    await storage.devices.set_display_name("@alice:test", "DEV1", None)
    device = await storage.devices.get("@alice:test", "DEV1")
    assert device is not None and device.display_name is None


async def test_devices_are_per_user(storage: Storage) -> None:
    await make_user(storage, "@alice:test")
    await make_user(storage, "@bob:test")
    for device_id in ("B", "A", "C"):
        await storage.devices.upsert("@alice:test", device_id, None, 1)
    await storage.devices.upsert("@bob:test", "A", "bob's", 1)
    assert [d.device_id for d in await storage.devices.list("@alice:test")] == ["A", "B", "C"]
    assert [d.display_name for d in await storage.devices.list("@bob:test")] == ["bob's"]
    assert await storage.devices.get("@bob:test", "B") is None


async def test_tokens(storage: Storage) -> None:
    await make_user(storage, admin=True)
    await storage.devices.upsert("@alice:test", "DEV1", None, 1)
    await storage.devices.add_token("hash1", "@alice:test", "DEV1", 1)
    await storage.devices.add_token("hash2", "@alice:test", "DEV1", 2)
    owner = await storage.devices.token_owner("hash1")
    assert owner is not None
    assert (owner.user_id, owner.device_id, owner.admin, owner.is_guest, owner.deactivated,
            owner.locked) == ("@alice:test", "DEV1", True, False, False, False)
    assert await storage.devices.token_owner("nope") is None
    # Account flags are read live through the token.
    await storage.users.set_locked("@alice:test", True)
    owner = await storage.devices.token_owner("hash2")
    assert owner is not None and owner.locked is True
    await storage.devices.delete_token("hash1")
    assert await storage.devices.token_owner("hash1") is None
    assert await storage.devices.token_owner("hash2") is not None


async def test_deleting_a_device_deletes_its_tokens(storage: Storage) -> None:
    await make_user(storage)
    for device_id in ("DEV1", "DEV2"):
        await storage.devices.upsert("@alice:test", device_id, None, 1)
        await storage.devices.add_token(f"hash-{device_id}", "@alice:test", device_id, 1)
    await storage.devices.delete("@alice:test", "DEV1")
    assert await storage.devices.get("@alice:test", "DEV1") is None
    assert await storage.devices.token_owner("hash-DEV1") is None
    assert await storage.devices.token_owner("hash-DEV2") is not None


async def test_delete_all_for_user(storage: Storage) -> None:
    await make_user(storage, "@alice:test")
    await make_user(storage, "@bob:test")
    for user in ("@alice:test", "@bob:test"):
        for device_id in ("D1", "D2", "D3"):
            await storage.devices.upsert(user, device_id, None, 1)
            await storage.devices.add_token(f"{user}-{device_id}", user, device_id, 1)
    await storage.devices.delete_all_for_user("@alice:test", except_device="D2")
    assert [d.device_id for d in await storage.devices.list("@alice:test")] == ["D2"]
    assert await storage.devices.token_owner("@alice:test-D2") is not None
    assert await storage.devices.token_owner("@alice:test-D1") is None
    await storage.devices.delete_all_for_user("@alice:test")
    assert await storage.devices.list("@alice:test") == []
    assert len(await storage.devices.list("@bob:test")) == 3


# -- registration nonces ------------------------------------------------------------------------


async def test_nonce_is_single_use(storage: Storage) -> None:
    await storage.registration.add_nonce("n1", 1000)
    assert await storage.registration.take_nonce("n1", not_before=0) is True
    assert await storage.registration.take_nonce("n1", not_before=0) is False
    assert await storage.registration.take_nonce("never-issued", not_before=0) is False


async def test_expired_nonce(storage: Storage) -> None:
    """A nonce older than ``not_before`` is refused, and is used up by the attempt."""
    await storage.registration.add_nonce("old", 1000)
    await storage.registration.add_nonce("fresh", 61_000)
    assert await storage.registration.take_nonce("old", not_before=1001) is False
    assert await storage.registration.take_nonce("old", not_before=0) is False
    # Exactly at the boundary it is still valid.
    assert await storage.registration.take_nonce("fresh", not_before=61_000) is True


async def test_sweep_nonces(storage: Storage) -> None:
    await storage.registration.add_nonce("a", 10)
    await storage.registration.add_nonce("b", 20)
    await storage.registration.sweep_nonces(older_than=15)
    assert await storage.registration.take_nonce("a", 0) is False
    assert await storage.registration.take_nonce("b", 0) is True


# -- UIA sessions -------------------------------------------------------------------------------


async def test_uia_session_round_trip(storage: Storage) -> None:
    await storage.uia.create("s1", "account/password", "@alice:test", 500)
    session = await storage.uia.get("s1")
    assert session is not None
    assert (session.session_id, session.scope, session.user_id, session.completed,
            session.created_ts) == ("s1", "account/password", "@alice:test", [], 500)
    await storage.uia.set_completed("s1", ["m.login.dummy", "m.login.password"])
    session = await storage.uia.get("s1")
    assert session is not None and session.completed == ["m.login.dummy", "m.login.password"]
    await storage.uia.create("s2", "register:x", None, 600)
    session = await storage.uia.get("s2")
    assert session is not None and session.user_id is None
    await storage.uia.delete("s1")
    assert await storage.uia.get("s1") is None
    assert await storage.uia.get("never") is None


async def test_uia_sweep(storage: Storage) -> None:
    await storage.uia.create("old", "x", None, 10)
    await storage.uia.create("new", "x", None, 100)
    await storage.uia.sweep(older_than=50)
    assert await storage.uia.get("old") is None
    assert await storage.uia.get("new") is not None


# -- cross-area work in one transaction ---------------------------------------------------------


async def test_registration_like_transaction_is_atomic(storage: Storage) -> None:
    with pytest.raises(RuntimeError):
        async with storage.transaction() as tx:
            await tx.users.create("@atomic:test", None, admin=False, user_type=None,
                                  creation_ts=1)
            await tx.profile.create("@atomic:test", "atomic")
            await tx.devices.upsert("@atomic:test", "D", None, 1)
            await tx.devices.add_token("atomic-token", "@atomic:test", "D", 1)
            raise RuntimeError("crash between writes")
    assert await storage.users.get("@atomic:test") is None
    assert await storage.profile.get("@atomic:test") is None
    assert await storage.devices.get("@atomic:test", "D") is None
    assert await storage.devices.token_owner("atomic-token") is None
