"""Other servers' users' keys for our clients: ``/keys/query`` and ``/keys/claim`` ask
their servers (``POST /_matrix/federation/v1/user/keys/query`` and ``…/user/keys/claim``),
all servers at once, each within the request's ``timeout``; a server that cannot answer
in time (or at all) is listed under ``failures`` as Synapse lists it.

Users who share a room with one of ours have their device list *tracked*: what their
server answers to ``GET /_matrix/federation/v1/user/devices/{userId}`` is cached (table
``remote_device_lists``) and served from there until their server announces a change
(``device_lists.py`` drops the entry then) or an admin refreshes it.

Nothing another server says is passed on unchecked: a device key object must be for the
user and device it is filed under and signed by that device's own ed25519 key; a master
key must be the user's, a self-signing key the user's and signed by the master key;
claimed keys are kept only for the users and devices asked. The rest is dropped (and
logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from glia import errors
from glia.clock import Clock
from glia.errors import MatrixError
from glia.ids import InvalidId, server_name_of
from glia.services.federation.client import FederationClient, FederationError, RemoteError
from glia.services.key_formats import (
    JsonDict,
    check_signed,
    parse_cross_signing_key,
    verify_key_of,
)
from glia.services.keys import KeysClaimResult, KeysQueryResult
from glia.storage import Storage

__all__ = ["RemoteE2ee", "verified_cross_signing", "verified_device_keys"]

logger = logging.getLogger(__name__)


def verified_device_keys(user_id: str, device_id: str, keys: Any) -> JsonDict | None:
    """``keys`` if it is ``user_id``'s ``device_id``'s key object signed by the device's
    own ed25519 key, else None."""
    if not isinstance(keys, Mapping) or keys.get("user_id") != user_id or \
            keys.get("device_id") != device_id or not isinstance(keys.get("keys"), Mapping):
        return None
    own = f"ed25519:{device_id}"
    try:
        check_signed(keys, user_id, verify_key_of(own, keys["keys"].get(own)),
                     "device keys")
    except MatrixError:
        return None
    return dict(keys)


def verified_cross_signing(user_id: str, master: Any, self_signing: Any
                           ) -> tuple[JsonDict | None, JsonDict | None]:
    """The user's master key if valid, and their self-signing key if valid and signed by
    that master key."""
    if master is None:
        return None, None
    try:
        master_key, _, master_verify = parse_cross_signing_key(master, user_id, "master")
    except MatrixError:
        return None, None
    if self_signing is None:
        return master_key, None
    try:
        ssk, _, _ = parse_cross_signing_key(self_signing, user_id, "self_signing")
        check_signed(ssk, user_id, master_verify, "self-signing key")
    except MatrixError:
        return master_key, None
    return master_key, ssk


def _failure(e: BaseException) -> JsonDict:
    """A server's entry in ``failures``, as Synapse words it."""
    if isinstance(e, RemoteError):
        return {"status": e.status, "message": e.error or str(e)}
    if isinstance(e, TimeoutError):
        return {"status": 503, "message": "Timed out"}
    if isinstance(e, MatrixError) and e.status == 403:
        return {"status": 403, "message": "Federation Denied"}
    return {"status": 503, "message": str(e) or type(e).__name__}


class RemoteE2ee:
    def __init__(self, server_name: str, storage: Storage, client: FederationClient,
                 clock: Clock) -> None:
        self._server_name = server_name
        self._storage = storage
        self._client = client
        self._clock = clock

    # -- /keys/query ---------------------------------------------------------------------

    async def query(self, wanted: dict[str, dict[str, list[str]]], timeout_ms: int
                    ) -> KeysQueryResult:
        result = KeysQueryResult({}, {}, {}, {}, {})

        async def one(server: str, users: dict[str, list[str]]) -> None:
            try:
                async with asyncio.timeout(timeout_ms / 1000):
                    await self._query_server(server, users, result)
            except (FederationError, MatrixError, TimeoutError, ValueError) as e:
                logger.info("keys/query of %s failed: %s", server, e)
                result.failures[server] = _failure(e)

        await asyncio.gather(*(one(s, u) for s, u in sorted(wanted.items())))
        return result

    async def _query_server(self, server: str, users: dict[str, list[str]],
                            result: KeysQueryResult) -> None:
        """Tracked users from the cache (fetching their device list on a miss), the
        others with one ``user/keys/query``."""
        untracked: dict[str, list[str]] = {}
        for user_id, device_ids in users.items():
            if _server(user_id) != server:
                continue
            cached = await self._storage.federation_e2ee.remote_device_list(user_id)
            answer = cached.answer if cached is not None else None
            if answer is None and await self.tracked(user_id):
                answer = await self.fetch_devices(user_id)
            if answer is None:
                untracked[user_id] = device_ids
                continue
            devices: dict[str, JsonDict] = answer["devices"]
            result.device_keys[user_id] = {d: k for d, k in devices.items()
                                           if not device_ids or d in device_ids}
            if answer.get("master_key") is not None:
                result.master_keys[user_id] = answer["master_key"]
            if answer.get("self_signing_key") is not None:
                result.self_signing_keys[user_id] = answer["self_signing_key"]
        if not untracked:
            return
        body = await self._ask(server, "POST", "/_matrix/federation/v1/user/keys/query",
                               {"device_keys": untracked})
        device_keys = body.get("device_keys")
        device_keys = device_keys if isinstance(device_keys, Mapping) else {}
        masters, ssks = body.get("master_keys"), body.get("self_signing_keys")
        masters = masters if isinstance(masters, Mapping) else {}
        ssks = ssks if isinstance(ssks, Mapping) else {}
        for user_id, device_ids in untracked.items():
            by_device = device_keys.get(user_id)
            kept = {}
            for device_id, keys in (by_device.items() if isinstance(by_device, Mapping)
                                    else ()):
                if device_ids and device_id not in device_ids:
                    continue
                checked = verified_device_keys(user_id, device_id, keys)
                if checked is None:
                    logger.info("dropped bad device keys of %s %s from %s", user_id,
                                device_id, server)
                    continue
                kept[device_id] = checked
            result.device_keys[user_id] = kept
            master, ssk = verified_cross_signing(user_id, masters.get(user_id),
                                                 ssks.get(user_id))
            if master is not None:
                result.master_keys[user_id] = master
            if ssk is not None:
                result.self_signing_keys[user_id] = ssk

    # -- tracked device lists --------------------------------------------------------------

    async def tracked(self, user_id: str) -> bool:
        """Whether another server's user shares a room with one of ours (we then keep
        their device list and their server tells us of its changes)."""
        rooms = [r for r, m in (await self._storage.keys.rooms_with_membership(user_id)
                                ).items() if m == "join"]
        if not rooms:
            return False
        members = await self._storage.keys.joined_members(rooms)
        return any(_server(m) == self._server_name for m in members)

    async def fetch_devices(self, user_id: str) -> dict[str, Any]:
        """Ask the user's server for their device list (``user/devices``), keep what
        passes the checks in the cache and return it: ``devices`` (device ID → key
        object, display name under ``unsigned``), ``master_key``, ``self_signing_key``."""
        server = _server(user_id)
        if server is None or server == self._server_name:
            raise errors.invalid_param(f"{user_id} is not another server's user")
        body = await self._ask(server, "GET",
                               f"/_matrix/federation/v1/user/devices/{quote(user_id)}")
        if body.get("user_id") != user_id:
            raise FederationError(f"{server} answered for another user")
        stream_id = body.get("stream_id")
        devices: dict[str, JsonDict] = {}
        listed = body.get("devices")
        for device in listed if isinstance(listed, list) else ():
            if not isinstance(device, Mapping):
                continue
            device_id = device.get("device_id")
            if not isinstance(device_id, str):
                continue
            keys = verified_device_keys(user_id, device_id, device.get("keys"))
            if keys is None:
                logger.info("dropped bad device keys of %s %s from %s", user_id,
                            device_id, server)
                continue
            name = device.get("device_display_name")
            if isinstance(name, str):
                keys["unsigned"] = {"device_display_name": name}
            devices[device_id] = keys
        master, ssk = verified_cross_signing(user_id, body.get("master_key"),
                                             body.get("self_signing_key"))
        answer = {"devices": devices, "master_key": master, "self_signing_key": ssk}
        await self._storage.federation_e2ee.set_remote_device_list(
            user_id, stream_id if isinstance(stream_id, int) else 0, answer,
            self._clock.now_ms())
        return answer

    # -- /keys/claim ---------------------------------------------------------------------

    async def claim(self, wanted: dict[str, dict[str, dict[str, str]]], timeout_ms: int
                    ) -> KeysClaimResult:
        result = KeysClaimResult({}, {})

        async def one(server: str, users: dict[str, dict[str, str]]) -> None:
            try:
                async with asyncio.timeout(timeout_ms / 1000):
                    body = await self._ask(server, "POST",
                                           "/_matrix/federation/v1/user/keys/claim",
                                           {"one_time_keys": users})
            except (FederationError, MatrixError, TimeoutError, ValueError) as e:
                logger.info("keys/claim of %s failed: %s", server, e)
                result.failures[server] = _failure(e)
                return
            claimed = body.get("one_time_keys")
            claimed = claimed if isinstance(claimed, Mapping) else {}
            for user_id, devices in users.items():
                by_device = claimed.get(user_id)
                if _server(user_id) != server or not isinstance(by_device, Mapping):
                    continue
                for device_id, keys in by_device.items():
                    if device_id in devices and isinstance(keys, Mapping):
                        algorithm = devices[device_id]
                        kept = {k: v for k, v in keys.items() if isinstance(k, str)
                                and k.startswith(f"{algorithm}:")
                                and isinstance(v, (str, Mapping))}
                        if kept:
                            result.one_time_keys.setdefault(user_id, {})[device_id] = kept

        await asyncio.gather(*(one(s, u) for s, u in sorted(wanted.items())))
        return result

    async def _ask(self, server: str, method: str, path: str,
                   content: dict[str, Any] | None = None) -> dict[str, Any]:
        """A lookup our user asked for: tried whatever the server's back-off (as
        ``remote.py``'s lookups)."""
        answer = await self._client.request(server, method, path, content=content,
                                            ignore_backoff=True)
        if not isinstance(answer.body, dict):
            raise FederationError(f"{server} answered something other than a JSON object")
        return answer.body


def _server(user_id: object) -> str | None:
    try:
        return server_name_of(user_id) if isinstance(user_id, str) else None
    except InvalidId:
        return None
