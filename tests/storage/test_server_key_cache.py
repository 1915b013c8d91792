"""The remote key cache behind request verification, on the engine under test: current
keys verify requests until their valid_until_ts, old keys only events signed before they
expired, a miss fetches the server's keys (not more than once every few seconds), and
the notary answers from the cache when it suffices."""

from __future__ import annotations

from typing import Any, cast

import pytest

from glia.config_federation import FederationConfig
from glia.protocol.server_keys import OldKey, own_key_response
from glia.protocol.signing import generate_signing_key, key_id, verify_key_base64, verify_key_of
from glia.services.federation.client import Answer, FederationClient, FederationError
from glia.services.federation.keys import (
    REFETCH_INTERVAL_S,
    KeyUnavailable,
    KeyWanted,
    ServerKeysService,
)
from glia.services.federation.policy import FederationPolicy
from glia.storage import Storage
from tests.storage.helpers import uid
from tests.unit.test_federation_discovery import FakeClock


class RemoteKeys:
    """Stands in for the outbound client: answers key fetches with a chosen response."""

    def __init__(self) -> None:
        self.response: Any = None
        self.fetches = 0

    async def request(self, destination: str, method: str, path: str, **kwargs: Any
                      ) -> Answer:
        self.fetches += 1
        if self.response is None:
            raise FederationError("down")
        return Answer(self.response, "127.0.0.1", 8448)


def service(storage: Storage, remote: RemoteKeys, clock: FakeClock) -> ServerKeysService:
    return ServerKeysService("us.example", generate_signing_key("us"), storage,
                             cast(FederationClient, remote),
                             FederationPolicy(FederationConfig()), clock)


async def test_current_and_old_keys(shared: Storage) -> None:
    clock, remote = FakeClock(), RemoteKeys()
    keys = service(shared, remote, clock)
    server = f"{uid('hs')}.example"
    current, old = generate_signing_key("cur"), generate_signing_key("old")
    expired_at = clock.now_ms() - 1000
    remote.response = own_key_response(
        server, current, [OldKey(key_id(old), verify_key_base64(verify_key_of(old)),
                                 expired_at)], clock.now_ms())

    found = await keys.verify_key(server, key_id(current))
    assert verify_key_base64(found) == verify_key_base64(verify_key_of(current))
    assert remote.fetches == 1
    await keys.verify_key(server, key_id(current))  # cached
    assert remote.fetches == 1
    # The old key: for an event signed before it expired, yes; for a request, never.
    await keys.verify_key(server, key_id(old), at_ts=expired_at - 1, for_request=False)
    with pytest.raises(KeyUnavailable):
        await keys.verify_key(server, key_id(old), at_ts=expired_at + 1, for_request=False)
    with pytest.raises(KeyUnavailable):
        await keys.verify_key(server, key_id(old))


async def test_misses_fetch_at_most_every_few_seconds(shared: Storage) -> None:
    clock, remote = FakeClock(), RemoteKeys()
    keys = service(shared, remote, clock)
    server = f"{uid('hs')}.example"
    remote.response = own_key_response(server, generate_signing_key("a"), [], clock.now_ms())
    for _ in range(3):
        with pytest.raises(KeyUnavailable):
            await keys.verify_key(server, "ed25519:unknown")
    assert remote.fetches == 1
    clock.t += REFETCH_INTERVAL_S
    with pytest.raises(KeyUnavailable):
        await keys.verify_key(server, "ed25519:unknown")
    assert remote.fetches == 2


async def test_expired_cache_refetches(shared: Storage) -> None:
    clock, remote = FakeClock(), RemoteKeys()
    keys = service(shared, remote, clock)
    server = f"{uid('hs')}.example"
    key = generate_signing_key("a")
    remote.response = own_key_response(server, key, [], clock.now_ms())
    await keys.verify_key(server, key_id(key))
    clock.t += 2 * 24 * 3600  # past the response's valid_until_ts
    remote.response = own_key_response(server, key, [], clock.now_ms())
    await keys.verify_key(server, key_id(key))
    assert remote.fetches == 2
    remote.response = None  # the server goes down: expired keys do not verify
    clock.t += 2 * 24 * 3600
    with pytest.raises(KeyUnavailable):
        await keys.verify_key(server, key_id(key))


async def test_notary_uses_the_cache_and_falls_back_to_it(shared: Storage) -> None:
    clock, remote = FakeClock(), RemoteKeys()
    keys = service(shared, remote, clock)
    server = f"{uid('hs')}.example"
    key = generate_signing_key("a")
    remote.response = own_key_response(server, key, [], clock.now_ms())
    [first] = await keys.query({server: KeyWanted()})
    assert remote.fetches == 1 and set(first["signatures"]) == {server, "us.example"}
    [cached] = await keys.query({server: KeyWanted((key_id(key),))})
    assert remote.fetches == 1 and cached["verify_keys"] == first["verify_keys"]
    # Keys wanted valid beyond what is cached: fetched again; the server being down, the
    # cached answer is served anyway.
    remote.response = None
    later = clock.now_ms() + 10 * 24 * 3600 * 1000
    [stale] = await keys.query({server: KeyWanted((), later)})
    assert remote.fetches == 2 and stale["verify_keys"] == first["verify_keys"]
    assert await keys.query({f"{uid('never')}.example": KeyWanted()}) == []


async def test_bookkeeping_of_fetches_stays_bounded(shared: Storage,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import glia.services.federation.keys as keys_module

    monkeypatch.setattr(keys_module, "MAX_TRACKED_SERVERS", 3)
    clock, remote = FakeClock(), RemoteKeys()  # the remote is down: every miss fails
    keys = service(shared, remote, clock)
    names = [f"{uid('hs')}.example" for _ in range(6)]
    for name in names:
        with pytest.raises(KeyUnavailable):
            await keys.verify_key(name, "ed25519:k")
        clock.t += REFETCH_INTERVAL_S
    assert remote.fetches == 6
    assert len(keys._last_fetch) <= 3  # idle servers were forgotten
