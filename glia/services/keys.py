"""End-to-end encryption keys (the spec's key management API): device keys, one-time
and fallback keys — ``/keys/upload``, ``/keys/query``, ``/keys/claim``. Device-list
tracking and the device part of ``/sync`` are ``device_lists.py`` (the base of this
service), cross-signing ``cross_signing.py``, key formats ``key_formats.py``.

The server never decrypts anything; it checks what it can (each device key object is
signed by the device's own ed25519 key), hands each one-time key out at most once, and
tells users when the keys of people they share rooms with change. Errors and messages
follow Synapse where clients were written against them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.ids import InvalidId, parse_user_id
from glia.protocol.canonical_json import NonNegativeInt
from glia.protocol.signing import VerifyKey
from glia.services.auth import Requester
from glia.services.device_lists import SIGNED_CURVE25519, DeviceListService, parse_stream_token
from glia.services.key_formats import (
    JsonDict,
    canonical,
    check_signed,
    json_object,
    json_string,
    parse_key_id,
    parse_one_time_keys,
    parse_signatures,
    same_one_time_key,
    verify_key_of,
    without_keys,
)
from glia.services.local_keys import KeysQueryResult, LocalKeys
from glia.services.notifier import Notifier
from glia.storage import Storage, Stores

if TYPE_CHECKING:
    from glia.services.appservices.ephemeral import AppServiceEphemeral
    from glia.services.unit_of_work import UnitOfWork

__all__ = ["KeysClaim", "KeysQuery", "KeysQueryResult", "KeysService", "KeysUpload",
           "RemoteKeys", "parse_stream_token"]

_REMOTE_FAILURE = {"status": 503, "message": "Federation is not available on this server"}
#: How long a query or claim waits for other servers when the client gives no
#: ``timeout`` (Synapse's default).
DEFAULT_TIMEOUT_MS = 10_000

#: ``one_time_keys`` / ``fallback_keys``: by ``<algorithm>:<key ID>``, a key string or a
#: signed key object (kept whole: its signature covers every field).
OneTimeKeys = dict[str, str | dict[str, Any]]


class KeysUpload(msgspec.Struct):
    """``/keys/upload``. ``device_keys`` is a signed object, kept whole and checked by
    ``_parse_device_keys``; when sent, it may not be null (Synapse's rule)."""

    device_keys: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    one_time_keys: OneTimeKeys | None = None
    fallback_keys: OneTimeKeys | None = None


class KeysQuery(msgspec.Struct):
    """``/keys/query``: user ID → device IDs (empty: all of the user's devices).
    Without ``device_keys`` it is ``M_BAD_JSON``, as Synapse answers."""

    device_keys: dict[str, list[str]] | msgspec.UnsetType = msgspec.UNSET
    timeout: NonNegativeInt | None = None

    def __post_init__(self) -> None:
        if self.device_keys is msgspec.UNSET:
            raise errors.bad_json("Missing parameter: device_keys")


class KeysClaim(msgspec.Struct):
    """``/keys/claim``: user ID → device ID → algorithm of the key to claim. Without
    ``one_time_keys`` it is ``M_BAD_JSON``, as Synapse answers."""

    one_time_keys: dict[str, dict[str, str]] | msgspec.UnsetType = msgspec.UNSET
    timeout: NonNegativeInt | None = None

    def __post_init__(self) -> None:
        if self.one_time_keys is msgspec.UNSET:
            raise errors.bad_json("Missing parameter: one_time_keys")


class KeyCounts(msgspec.Struct, frozen=True):
    """``/keys/upload``'s answer: the device's unclaimed one-time keys per algorithm."""

    one_time_key_counts: dict[str, int]


class KeysClaimResult(msgspec.Struct, frozen=True):
    """``/keys/claim``'s answer: user ID → device ID → key ID → the signed key."""

    one_time_keys: dict[str, dict[str, JsonDict]]
    failures: dict[str, JsonDict]


@dataclass(frozen=True)
class RemoteKeys:
    """Other servers' users' keys (``federation/e2ee_queries.py``): what to ask, by
    server name, and how long to wait (ms); servers that could not answer are named in
    ``failures``."""

    query: Callable[[dict[str, dict[str, list[str]]], int], Awaitable[KeysQueryResult]]
    claim: Callable[[dict[str, dict[str, dict[str, str]]], int], Awaitable[KeysClaimResult]]


class KeysService(DeviceListService):
    def __init__(self, config: Config, storage: Storage, notifier: Notifier,
                 appservices: AppServiceEphemeral | None = None,
                 remote: RemoteKeys | None = None,
                 device_list_listener: Callable[[str], Awaitable[None]] | None = None
                 ) -> None:
        super().__init__(config, storage, notifier, appservices, device_list_listener)
        self._local_keys = LocalKeys(storage)
        self._remote = remote

    # -- /keys/upload ------------------------------------------------------------------

    async def upload(self, uow: UnitOfWork, upload: KeysUpload) -> KeyCounts:
        """``/keys/upload`` for the caller's device: everything is checked before anything
        is stored (in the request's transaction), so a refused request changes nothing."""
        user_id, device_id = uow.requester.user_id, uow.requester.device_id
        device_keys: JsonDict | None = None
        device_key: VerifyKey | None = None
        if upload.device_keys is not msgspec.UNSET:
            device_keys = self._parse_device_keys(upload.device_keys, user_id, device_id)
            device_key = verify_key_of(f"ed25519:{device_id}",
                                     device_keys["keys"][f"ed25519:{device_id}"])
        else:
            stored = await self._storage.keys.get_device_keys(user_id, device_id)
            if stored is not None:
                public = stored.keys.get("keys", {}).get(f"ed25519:{device_id}")
                device_key = verify_key_of(f"ed25519:{device_id}", public)
        one_time = fallback = None
        if upload.one_time_keys is not None:
            one_time = parse_one_time_keys(upload.one_time_keys, "one_time_keys", user_id,
                                            device_id, device_key)
        if upload.fallback_keys is not None:
            fallback = parse_one_time_keys(upload.fallback_keys, "fallback_keys", user_id,
                                            device_id, device_key)
            algorithms = [a for a, _, _ in fallback]
            if len(algorithms) != len(set(algorithms)):
                raise errors.invalid_param("At most one fallback key per algorithm")

        changed = False
        now = now_ms()
        async with uow.transaction() as tx:
            if await tx.devices.get(user_id, device_id) is None:
                raise errors.unknown_token()
            if device_keys is not None:
                changed = await tx.keys.set_device_keys(
                    user_id, device_id, canonical(without_keys(device_keys, "unsigned")), now)
                if changed:
                    await tx.keys.mark_device_list_changed(
                        user_id, await tx.next_stream_position())
            if one_time:
                await self._add_one_time_keys(tx, user_id, device_id, now, one_time)
            for algorithm, key_id, key in fallback or ():
                await tx.keys.set_fallback_key(user_id, device_id, algorithm, key_id,
                                               canonical(key))
            counts = await tx.keys.count_one_time_keys(user_id, device_id)
        if changed:
            await self.notify_device_list(user_id)
        return KeyCounts({SIGNED_CURVE25519: 0, **counts})

    @staticmethod
    def _parse_device_keys(value: Any, user_id: str, device_id: str) -> JsonDict:
        keys = json_object(value, "device_keys")
        for field in ("user_id", "device_id"):
            if field not in keys:
                raise errors.bad_json(f"device_keys.{field} is required")
            json_string(keys[field], f"device_keys.{field}")
        if keys["user_id"] != user_id:
            raise errors.bad_json("Provided `user_id` in `device_keys` does not match that "
                                  "of the authenticated user")
        if keys["device_id"] != device_id:
            raise errors.bad_json("Provided `device_id` in `device_keys` does not match that "
                                  "of the authenticated user device")
        algorithms = keys.get("algorithms")
        if not isinstance(algorithms, list) or not all(isinstance(a, str) for a in algorithms):
            raise errors.bad_json("device_keys.algorithms must be a list of strings")
        identity = json_object(keys.get("keys"), "device_keys.keys")
        for key_id, public in identity.items():
            parse_key_id(key_id, "device_keys.keys")
            json_string(public, f"device_keys.keys.{key_id}")
        if "signatures" not in keys:
            raise errors.bad_json("device_keys.signatures is required")
        parse_signatures(keys["signatures"], "device_keys")
        own = f"ed25519:{device_id}"
        if own not in identity:
            raise errors.invalid_param(f"device_keys.keys must include {own}")
        check_signed(keys, user_id, verify_key_of(own, identity[own]), "device_keys")
        return keys

    @staticmethod
    async def _add_one_time_keys(tx: Stores, user_id: str, device_id: str, now: int,
                                 keys: Sequence[tuple[str, str, Any]]) -> None:
        """Add new keys; re-uploading a stored key is a no-op (signatures may differ),
        a different key under a stored ID is refused, as in Synapse."""
        stored = await tx.keys.one_time_keys(user_id, device_id,
                                             [f"{a}:{k}" for a, k, _ in keys])
        new: list[tuple[str, str, str]] = []
        for algorithm, key_id, key in keys:
            key_json = canonical(key)
            old = stored.get((algorithm, key_id))
            if old is None:
                new.append((algorithm, key_id, key_json))
            elif not same_one_time_key(old, key):
                raise errors.unknown(f"One time key {algorithm}:{key_id} already exists. "
                                     f"Old key: {old}; new key: {key_json}")
        await tx.keys.add_one_time_keys(user_id, device_id, now, new)

    # -- /keys/query -------------------------------------------------------------------

    async def query(self, requester: Requester, query: KeysQuery) -> KeysQueryResult:
        """``/keys/query``: local users' device keys and cross-signing keys, with the
        uploaded signatures the caller may see (the owner's own, and the caller's)."""
        return await self.query_as(requester.user_id, query)

    async def query_as(self, requester_id: str, query: KeysQuery) -> KeysQueryResult:
        """:meth:`query` for a viewer named by ID; a remote server asks with an ID that
        is none of our users', so it sees no user-signing keys and only the owners'
        signatures. Other servers' users are asked of their servers (within the
        query's ``timeout``)."""
        wanted = query.device_keys
        assert not isinstance(wanted, msgspec.UnsetType)  # refused by the model
        local: dict[str, list[str]] = {}
        remote: dict[str, dict[str, list[str]]] = {}
        for user_id, device_ids in wanted.items():
            try:
                domain = parse_user_id(user_id).domain
            except InvalidId:
                continue  # as Synapse: an invalid ID is a user without keys
            if domain == self._config.server_name:
                local[user_id] = device_ids
            else:
                remote.setdefault(domain, {})[user_id] = device_ids
        result = await self._local_keys.query(requester_id, local)
        if remote and self._remote is not None:
            found = await self._remote.query(remote, _timeout(query.timeout))
            result.device_keys.update(found.device_keys)
            result.master_keys.update(found.master_keys)
            result.self_signing_keys.update(found.self_signing_keys)
            result.failures.update(found.failures)
        else:
            result.failures.update({d: dict(_REMOTE_FAILURE) for d in remote})
        return result

    # -- /keys/claim -------------------------------------------------------------------

    async def claim(self, uow: UnitOfWork, claim: KeysClaim) -> KeysClaimResult:
        """``/keys/claim``: per device, its oldest one-time key of the algorithm (deleted in
        the same statement), else its fallback key (marked used); in the request's
        transaction. Other servers' users' keys are claimed from their servers first
        (within the claim's ``timeout``)."""
        local: list[tuple[str, str, str]] = []
        remote: dict[str, dict[str, dict[str, str]]] = {}
        failures: dict[str, JsonDict] = {}
        assert not isinstance(claim.one_time_keys, msgspec.UnsetType)  # refused by the model
        for user_id, devices in claim.one_time_keys.items():
            try:
                domain = parse_user_id(user_id).domain
            except InvalidId:
                continue
            if domain != self._config.server_name:
                remote.setdefault(domain, {})[user_id] = devices
                continue
            local += [(user_id, d, a) for d, a in devices.items()]
        claimed: dict[str, dict[str, JsonDict]] = {}
        if remote and self._remote is not None:
            found = await self._remote.claim(remote, _timeout(claim.timeout))
            claimed.update(found.one_time_keys)
            failures.update(found.failures)
        else:
            failures.update({d: dict(_REMOTE_FAILURE) for d in remote})
        async with uow.transaction() as tx:
            for user_id, device_id, algorithm in local:
                key = await tx.keys.claim_one_time_key(user_id, device_id, algorithm)
                if key is None:
                    key = await tx.keys.claim_fallback_key(user_id, device_id, algorithm)
                if key is not None:
                    claimed.setdefault(user_id, {}).setdefault(device_id, {})[key.key_id] = (
                        key.key)
        return KeysClaimResult(claimed, failures)


def _timeout(timeout: int | None) -> int:
    return DEFAULT_TIMEOUT_MS if timeout is None else timeout
