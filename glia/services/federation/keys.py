"""Server signing keys: our own published key response, other servers' keys fetched
and cached with their validity (for request and event verification), and the notary
API (``/_matrix/key/v2/query``) answered from that cache or a fresh fetch.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from signedjson.types import SigningKey, VerifyKey

from glia.clock import Clock
from glia.errors import MatrixError
from glia.protocol.canonical_json import encode_canonical_json
from glia.protocol.events import JsonDict
from glia.protocol.server_keys import (
    KeyResponseError,
    OldKey,
    check_key_response,
    notarise,
    own_key_response,
)
from glia.protocol.signing import decode_verify_key, key_id, verify_key_base64, verify_key_of
from glia.services.federation.client import FederationClient, FederationError
from glia.services.federation.policy import FederationPolicy
from glia.storage import Storage
from glia.storage.server_keys import StoredServerKey

logger = logging.getLogger(__name__)

#: A server whose keys we just fetched is not asked again this soon because of a key ID
#: it did not publish (a peer naming unknown keys cannot make us fetch in a loop).
REFETCH_INTERVAL_S = 5.0
#: Servers whose last fetch time is remembered before idle ones are forgotten.
MAX_TRACKED_SERVERS = 10_000


class KeyUnavailable(Exception):
    """No usable key: the server is unreachable, its answer was bad, or it has no such
    key valid at the time asked about."""


@dataclass(frozen=True)
class KeyWanted:
    """What a notary query asks of one server: these key IDs (none: whichever it has),
    valid until at least this time (None: now)."""

    key_ids: tuple[str, ...] = ()
    minimum_valid_until_ts: int | None = None


@dataclass(frozen=True)
class FetchedKeys:
    """A fresh, verified key response of a server, and where it was fetched from."""

    server_name: str
    response: JsonDict
    keys: list[StoredServerKey]
    address: str
    port: int


class ServerKeysService:
    def __init__(self, server_name: str, signing_key: SigningKey, storage: Storage,
                 client: FederationClient, policy: FederationPolicy, clock: Clock) -> None:
        self._server_name = server_name
        self._policy = policy
        self._key = signing_key
        self._storage = storage
        self._client = client
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._last_fetch: dict[str, float] = {}

    # -- our keys ----------------------------------------------------------------------

    async def own_response(self) -> JsonDict:
        """``GET /_matrix/key/v2/server``: the current key and the retired ones."""
        old = [OldKey(k.key_id, k.verify_key, k.expired_ts)
               for k in await self._storage.server_keys.own_old_keys()]
        return own_key_response(self._server_name, self._key, old, self._clock.now_ms())

    # -- other servers' keys -----------------------------------------------------------

    async def fetch(self, server_name: str) -> FetchedKeys:
        """Fetch ``server_name``'s keys directly, verify and cache them."""
        try:
            answer = await self._client.request(server_name, "GET", "/_matrix/key/v2/server",
                                                signed=False)
            found = check_key_response(answer.body, server_name)
        except (FederationError, KeyResponseError, ValueError, MatrixError) as e:
            raise KeyUnavailable(f"cannot fetch the keys of {server_name}: {e}") from e
        now = self._clock.now_ms()
        key_json = encode_canonical_json(answer.body).decode()
        stored = [StoredServerKey(k.server_name, k.key_id, k.verify_key, k.valid_until_ts,
                                  k.expired, now, key_json) for k in found]
        await self._storage.server_keys.put(stored)
        return FetchedKeys(server_name, answer.body, stored, answer.address, answer.port)

    async def verify_key(self, server_name: str, key_id_: str, *, at_ts: int | None = None,
                         for_request: bool = True) -> VerifyKey:
        """The key ``key_id_`` of ``server_name``, usable at ``at_ts`` (now by default).

        For a request only a current key counts; an old key verifies events signed
        before it expired. A cache miss fetches the server's keys (at most once per
        :data:`REFETCH_INTERVAL_S`). Raises :class:`KeyUnavailable`."""
        at = self._clock.now_ms() if at_ts is None else at_ts
        if server_name == self._server_name:
            if key_id_ == key_id(self._key):
                return verify_key_of(self._key)
            raise KeyUnavailable(f"{key_id_} is not our current key")
        stored = await self._storage.server_keys.get(server_name, key_id_)
        if stored is None or not _usable(stored, at, for_request):
            self._forget_idle()
            lock = self._locks.setdefault(server_name, asyncio.Lock())
            async with lock:
                stored = await self._storage.server_keys.get(server_name, key_id_)
                last = self._last_fetch.get(server_name)
                recent = last is not None and \
                    self._clock.monotonic() - last < REFETCH_INTERVAL_S
                if (stored is None or not _usable(stored, at, for_request)) and not recent:
                    self._last_fetch[server_name] = self._clock.monotonic()
                    await self.fetch(server_name)
                    # Read back: the store keeps a key once seen expired expired.
                    stored = await self._storage.server_keys.get(server_name, key_id_)
        if stored is None or not _usable(stored, at, for_request):
            raise KeyUnavailable(f"{server_name} has no usable key {key_id_}")
        try:
            return decode_verify_key(key_id_, stored.verify_key)
        except ValueError as e:
            raise KeyUnavailable(f"the stored key {key_id_} of {server_name} is invalid") \
                from e

    def _forget_idle(self) -> None:
        """Keep the per-server bookkeeping bounded: past :data:`MAX_TRACKED_SERVERS`,
        drop the servers not fetched lately and not being fetched now."""
        if len(self._last_fetch) < MAX_TRACKED_SERVERS:
            return
        now = self._clock.monotonic()
        for name, last in list(self._last_fetch.items()):
            lock = self._locks.get(name)
            if now - last >= REFETCH_INTERVAL_S and (lock is None or not lock.locked()):
                del self._last_fetch[name]
                self._locks.pop(name, None)

    # -- the notary API ----------------------------------------------------------------

    async def query(self, wanted: Mapping[str, KeyWanted]) -> list[JsonDict]:
        """``/_matrix/key/v2/query``: for each server, key responses (signed by it and
        by us) that hold the asked key IDs (all keys if none are named) valid until at
        least the asked time. Cached answers serve when they suffice, or when the server
        cannot be reached; unreachable servers without a cache are left out."""
        out: list[JsonDict] = []
        now = self._clock.now_ms()
        for server_name, want in wanted.items():
            if server_name == self._server_name:
                out.append(notarise(await self.own_response(), self._server_name, self._key))
                continue
            if not self._policy.server_allowed(server_name):
                continue
            minimum = max(now, want.minimum_valid_until_ts or 0)
            cached = await self._storage.server_keys.of_server(server_name)
            responses = _responses(cached, want.key_ids, minimum)
            if responses is None:
                try:
                    fetched = await self.fetch(server_name)
                    responses = [fetched.response]
                except KeyUnavailable as e:
                    logger.info("notary: %s", e)
                    responses = list({k.key_json: json.loads(k.key_json)
                                      for k in cached}.values())
            out += [notarise(r, self._server_name, self._key) for r in responses]
        return out

    def own_key_id(self) -> str:
        return key_id(self._key)

    def own_verify_key(self) -> str:
        return verify_key_base64(verify_key_of(self._key))


def _usable(key: StoredServerKey, at: int, for_request: bool) -> bool:
    if for_request and key.expired:
        return False
    return key.valid_until_ts >= at


def _responses(cached: list[StoredServerKey], key_ids: Sequence[str], minimum: int
               ) -> list[JsonDict] | None:
    """The cached responses that answer a query, or None if the cache falls short."""
    current = [k for k in cached if not k.expired and k.valid_until_ts >= minimum]
    if not current:
        return None
    have = {k.key_id for k in cached if k.valid_until_ts >= minimum}
    if any(kid not in have for kid in key_ids):
        return None
    return list({k.key_json: json.loads(k.key_json) for k in current}.values())
