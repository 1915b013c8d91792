"""Registration tokens on the engine under test: validity (uses and expiry), reservations
by UIA sessions, completion, sweeping stale uses, and who registered with a token."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.registration_tokens import RegistrationToken, TokenUser
from tests.storage.helpers import MAX_SAFE, uid

NOW = 1_000


async def test_create_get_and_name_clash(shared: Storage) -> None:
    t = uid("tök")
    store = shared.registration_tokens
    assert await store.create(t, 2, MAX_SAFE, NOW)
    assert not await store.create(t, 9, None, NOW)
    assert await store.get(t) == RegistrationToken(t, 2, 0, 0, MAX_SAFE)
    assert await store.get(t.upper()) is None


async def test_update_and_delete(shared: Storage) -> None:
    t = uid("t")
    store = shared.registration_tokens
    await store.create(t, None, None, NOW)
    assert await store.update(t, {"uses_allowed": 3}) == RegistrationToken(t, 3, 0, 0, None)
    assert await store.update(t, {"expiry_time": 5, "uses_allowed": None}) == \
        RegistrationToken(t, None, 0, 0, 5)
    assert await store.update(uid("unknown"), {"uses_allowed": 1}) is None
    assert await store.delete(t)
    assert not await store.delete(t)
    assert await store.get(t) is None


async def test_validity(shared: Storage) -> None:
    store = shared.registration_tokens
    unlimited, expiring, expired = uid("t"), uid("t"), uid("t")
    await store.create(unlimited, None, None, NOW)
    await store.create(expiring, None, NOW + 10, NOW)
    await store.create(expired, 5, NOW, NOW)
    assert await store.is_valid(unlimited, MAX_SAFE)
    assert await store.is_valid(expiring, NOW + 9)
    assert not await store.is_valid(expiring, NOW + 10)  # Expiry is exclusive.
    assert not await store.is_valid(expired, NOW)
    assert not await store.is_valid(uid("unknown"), NOW)


async def test_reserve_release_complete(shared: Storage) -> None:
    store = shared.registration_tokens
    t = uid("t")
    await store.create(t, 2, None, NOW)
    s1, s2, s3 = uid("s"), uid("s"), uid("s")
    async with shared.transaction() as tx:
        assert await tx.registration_tokens.reserve(t, s1, NOW) == t
        # The same session asking again holds the same single use.
        assert await tx.registration_tokens.reserve(t, s1, NOW) == t
        assert await tx.registration_tokens.reserve(t, s2, NOW) == t
        # Both uses are held: a third session is refused and holds nothing.
        assert await tx.registration_tokens.reserve(t, s3, NOW) is None
    assert await store.reservation(s3) is None
    assert await store.get(t) == RegistrationToken(t, 2, 2, 0, None)
    assert not await store.is_valid(t, NOW)
    async with shared.transaction() as tx:
        assert await tx.registration_tokens.release(s2)
        assert not await tx.registration_tokens.release(s2)
    assert await store.get(t) == RegistrationToken(t, 2, 1, 0, None)
    async with shared.transaction() as tx:
        assert await tx.registration_tokens.complete(s1, "@new:test", NOW + 1) == t
        assert await tx.registration_tokens.complete(s1, "@new:test", NOW + 1) is None
    assert await store.get(t) == RegistrationToken(t, 2, 0, 1, None)
    assert await store.reservation(s1) is None
    # An unknown token reserves nothing.
    assert await store.reserve(uid("nope"), uid("s"), NOW) is None


async def test_list_by_validity(storage: Storage) -> None:
    store = storage.registration_tokens
    await store.create("b-used-up", 1, None, 1)
    await store.create("a-expired", None, NOW, 2)
    await store.create("c-fine", 1, NOW + 1, 3)
    await store.create("d-open", None, None, 3)
    async with storage.transaction() as tx:
        await tx.registration_tokens.reserve("b-used-up", "s", NOW)
    names = [t.token for t in await store.list_tokens(None, NOW)]
    assert names == ["b-used-up", "a-expired", "c-fine", "d-open"]
    assert [t.token for t in await store.list_tokens(True, NOW)] == ["c-fine", "d-open"]
    assert [t.token for t in await store.list_tokens(False, NOW)] == ["b-used-up",
                                                                     "a-expired"]


async def test_release_stale(storage: Storage) -> None:
    store = storage.registration_tokens
    await store.create("t", None, None, 1)
    async with storage.transaction() as tx:
        for i, session in enumerate(("old1", "old2", "edge", "new")):
            await tx.registration_tokens.reserve("t", session, [10, 11, 20, 30][i])
    assert await store.has_stale(created_before=11)
    assert not await store.has_stale(created_before=10)
    async with storage.transaction() as tx:
        assert await tx.registration_tokens.release_stale(created_before=20, limit=1) == 1
        assert await tx.registration_tokens.release_stale(created_before=20) == 1
        assert await tx.registration_tokens.release_stale(created_before=20) == 0
    assert [await store.reservation(s) for s in ("old1", "old2", "edge", "new")] == [
        None, None, "t", "t"]
    assert (await store.get("t")) == RegistrationToken("t", None, 2, 0, None)


async def test_deleting_a_token_drops_reservations_but_keeps_users(shared: Storage) -> None:
    store = shared.registration_tokens
    t = uid("t")
    await store.create(t, None, None, NOW)
    s1, s2 = uid("s"), uid("s")
    async with shared.transaction() as tx:
        await tx.registration_tokens.reserve(t, s1, NOW)
        await tx.registration_tokens.reserve(t, s2, NOW)
        await tx.registration_tokens.complete(s1, "@done:test", NOW)
    await store.delete(t)
    assert await store.reservation(s2) is None
    async with shared.transaction() as tx:
        assert await tx.registration_tokens.complete(s2, "@late:test", NOW) is None
    assert await store.users(t, offset=0, limit=10, newest_first=False) == (
        [TokenUser("@done:test", NOW)], 1)


async def test_users_pages(shared: Storage) -> None:
    store = shared.registration_tokens
    t = uid("t")
    await store.create(t, None, None, NOW)
    async with shared.transaction() as tx:
        for i, (name, ts) in enumerate([("@b:test", 5), ("@a:test", 5), ("@c:test", 7),
                                        ("@d:test", MAX_SAFE)]):
            await tx.registration_tokens.reserve(t, f"{t}s{i}", NOW)
            await tx.registration_tokens.complete(f"{t}s{i}", name, ts)
    oldest = await store.users(t, offset=0, limit=10, newest_first=False)
    assert oldest == ([TokenUser("@a:test", 5), TokenUser("@b:test", 5),
                       TokenUser("@c:test", 7), TokenUser("@d:test", MAX_SAFE)], 4)
    newest = await store.users(t, offset=1, limit=2, newest_first=True)
    assert newest == ([TokenUser("@c:test", 7), TokenUser("@b:test", 5)], 4)
    assert await store.users(t, offset=4, limit=2, newest_first=True) == ([], 4)
    assert await store.users(uid("none"), offset=0, limit=2, newest_first=True) == ([], 0)
    assert (await store.get(t)) == RegistrationToken(t, None, 0, 4, None)
