"""The stores behind purge_media_cache, account validity and the background-updates
switch, on the engine under test."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.remote_media import RemoteMedia
from tests.storage.helpers import uid, user


async def test_remote_media_unused_since_skips_quarantined_and_recent(shared: Storage
                                                                      ) -> None:
    origin = f"{uid('o')}.example"
    store = shared.remote_media
    items = [RemoteMedia(origin, "old1", "image/png", "a.png", 10, 1, 100, None),
             RemoteMedia(origin, "old2", None, None, 20, 1, 200, None),
             RemoteMedia(origin, "quarantined", None, None, 5, 1, 50, "@a:test"),
             RemoteMedia(origin, "recent", None, None, 5, 1, 10_000, None)]
    for item in items:
        await store.insert(item)
    found = [m for m in await store.unused_since(1_000, 100) if m.media_origin == origin]
    assert [m.media_id for m in found] == ["old1", "old2"]
    assert found[0] == items[0]
    assert await store.delete(origin, "old1") == 1
    assert await store.delete(origin, "old1") == 0
    assert await store.get(origin, "old1") is None
    assert await store.get(origin, "recent") == items[3]


async def test_account_validity_rows(shared: Storage) -> None:
    async with shared.transaction() as tx:
        u = await user(tx)
        gone = await user(tx)
    store = shared.account_validity
    assert await store.get(u) is None
    await store.set_expiration(u, 5_000, False)
    await store.set_expiration(gone, 5_000, False)
    await shared.users.set_deactivated(gone, True)
    validity = await store.get(u)
    assert validity is not None and validity.expiration_ts_ms == 5_000
    assert not validity.renewal_notice_sent and validity.renewal_token is None
    assert u in await store.due_for_notice(6_000, 1000)
    assert gone not in await store.due_for_notice(6_000, 1000)  # deactivated: no notice
    assert u not in await store.due_for_notice(5_000, 1000)
    token = uid("token")
    await store.set_notice_sent(u, token)
    assert u not in await store.due_for_notice(6_000, 1000)
    found = await store.by_token(token)
    assert found is not None and found.user_id == u and found.renewal_notice_sent
    await store.use_token(u, 7_000)
    await store.set_expiration(u, 9_000, False)  # a renewal keeps the (used) token
    renewed = await store.by_token(token)
    assert renewed is not None and renewed.token_used_ts_ms == 7_000
    assert renewed.expiration_ts_ms == 9_000 and not renewed.renewal_notice_sent
    assert await store.by_token(uid("nope")) is None


async def test_background_updates_switch(shared: Storage) -> None:
    store = shared.background_updates
    assert await store.enabled() is True
    await store.set_enabled(False)
    try:
        assert await store.enabled() is False
    finally:
        await store.set_enabled(True)
    assert await store.enabled() is True
