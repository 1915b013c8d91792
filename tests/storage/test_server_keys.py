"""Server keys and OpenID tokens on the engine under test."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.server_keys import OwnOldKey, StoredServerKey
from tests.storage.helpers import uid


def key(server: str, kid: str, until: int, expired: bool = False, json: str = "{}"
        ) -> StoredServerKey:
    return StoredServerKey(server, kid, f"pub-{kid}", until, expired, 5, json)


async def test_put_replaces_and_lists_by_server(shared: Storage) -> None:
    server = f"{uid('hs')}.example"
    await shared.server_keys.put([key(server, "ed25519:a", 100), key(server, "ed25519:b", 50)])
    await shared.server_keys.put([key(server, "ed25519:a", 200, json='{"n":2}')])
    assert await shared.server_keys.get(server, "ed25519:a") == key(server, "ed25519:a", 200,
                                                                    json='{"n":2}')
    assert [k.key_id for k in await shared.server_keys.of_server(server)] == [
        "ed25519:a", "ed25519:b"]
    assert await shared.server_keys.get(server, "ed25519:zzz") is None
    assert await shared.server_keys.of_server(f"{uid('other')}.example") == []


async def test_an_expired_key_stays_expired(shared: Storage) -> None:
    """Once a server listed a key as old, a later (or replayed) answer naming it current
    cannot make it valid for requests again or extend it."""
    server = f"{uid('hs')}.example"
    await shared.server_keys.put([key(server, "ed25519:a", 1000)])
    await shared.server_keys.put([key(server, "ed25519:a", 300, expired=True)])
    await shared.server_keys.put([key(server, "ed25519:a", 9999)])
    stored = await shared.server_keys.get(server, "ed25519:a")
    assert stored is not None and stored.expired and stored.valid_until_ts == 300


async def test_own_old_keys(storage: Storage) -> None:
    assert await storage.server_keys.own_old_keys() == []
    await storage.server_keys.add_own_old_key(OwnOldKey("ed25519:b", "pub-b", 20))
    await storage.server_keys.add_own_old_key(OwnOldKey("ed25519:a", "pub-a", 10))
    await storage.server_keys.add_own_old_key(OwnOldKey("ed25519:a", "pub-a", 99))
    assert await storage.server_keys.own_old_keys() == [OwnOldKey("ed25519:a", "pub-a", 10),
                                                        OwnOldKey("ed25519:b", "pub-b", 20)]


async def test_openid_tokens_expire(shared: Storage) -> None:
    token, old = uid("tok"), uid("old")
    await shared.openid.add(old, "@old:test", 50, now=40)
    await shared.openid.add(token, "@u:test", 1000, now=100)  # drops the expired one
    assert await shared.openid.owner(token, 1000) == "@u:test"
    assert await shared.openid.owner(token, 1001) is None
    assert await shared.openid.owner(old, 40) is None
    assert await shared.openid.owner(uid("nope"), 0) is None
