"""Device lists over federation: ``m.device_list_update`` and ``m.signing_key_update``
EDUs both ways, and the admin's refresh of another server's user's device list.

Outbound (:class:`DeviceListAnnouncer`): after each committed change of one of our
users' device lists (a device added, renamed or removed, device keys or cross-signing
keys uploaded) the user's devices and master/self-signing keys are compared with what
was last announced (a digest per item); each device that changed gets an
``m.device_list_update`` (``deleted`` for one that is gone, ``prev_id`` naming the
previous update, and a ``stream_id`` from the stream ``user/devices`` answers its
``stream_id`` from, so a server that fetched the list knows which updates are newer),
changed cross-signing keys an
``m.signing_key_update``, queued persistently for every server sharing a room with the
user.

Inbound (:class:`RemoteDeviceLists`): an update about a user of the origin who shares a
room with one of ours drops that user's cached device list (``e2ee_queries.py``) and
records a device-list change, so our clients see the user in ``device_lists.changed`` of
``/sync`` and ``/keys/changes`` and query the keys again. Updates about users of another
server than the origin are ignored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.clock import Clock
from glia.errors import MatrixError
from glia.ids import InvalidId, parse_user_id, server_name_of
from glia.services.federation.client import FederationError
from glia.services.federation.e2ee_queries import RemoteE2ee
from glia.services.federation.sender import FederationSender
from glia.services.federation.to_device import DIRECT_TO_DEVICE, FederationToDevice, queue_edu
from glia.services.key_formats import JsonDict, canonical
from glia.services.keys import KeysService
from glia.services.local_keys import LocalKeys
from glia.storage import Storage

__all__ = ["DEVICE_LIST_UPDATE", "SIGNING_KEY_UPDATE", "DeviceListAnnouncer", "E2eeEdus",
           "RemoteDeviceLists"]

logger = logging.getLogger(__name__)

DEVICE_LIST_UPDATE = "m.device_list_update"
SIGNING_KEY_UPDATE = "m.signing_key_update"
#: Whom the announced keys are read as: no user of ours (what any other server sees).
_REMOTE_VIEWER = ""


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def _server(user_id: object) -> str | None:
    try:
        return server_name_of(user_id) if isinstance(user_id, str) else None
    except InvalidId:
        return None


class DeviceListAnnouncer:
    def __init__(self, server_name: str, storage: Storage, sender: FederationSender,
                 clock: Clock) -> None:
        self._server_name = server_name
        self._storage = storage
        self._sender = sender
        self._clock = clock
        self._local_keys = LocalKeys(storage)
        # One announcement at a time, so two changes in a row cannot both announce the
        # same difference (changes are rare next to messages).
        self._lock = asyncio.Lock()

    async def servers_sharing(self, user_id: str) -> set[str]:
        """Other servers with a member joined to a room ``user_id`` is joined to."""
        servers: set[str] = set()
        for room_id, membership in (
                await self._storage.keys.rooms_with_membership(user_id)).items():
            if membership == "join":
                servers |= await self._sender.room_servers(room_id)
        return servers

    async def changed(self, user_id: str) -> None:
        """One of our users' device list changed (committed): announce what differs from
        the last announcement to the servers sharing a room with them."""
        async with self._lock:
            await self._announce(user_id)

    async def _announce(self, user_id: str) -> None:
        destinations = sorted(await self.servers_sharing(user_id))
        if not destinations:
            return
        keys = await self._local_keys.query(_REMOTE_VIEWER, {user_id: []})
        devices = {d.device_id: d for d in await self._storage.devices.list(user_id)}
        device_keys = keys.device_keys.get(user_id, {})
        current: dict[tuple[str, str], tuple[str, JsonDict]] = {}
        for device_id, device in devices.items():
            content: JsonDict = {"user_id": user_id, "device_id": device_id}
            if device.display_name is not None:
                content["device_display_name"] = device.display_name
            if device_id in device_keys:
                found = dict(device_keys[device_id])
                found.pop("unsigned", None)
                content["keys"] = found
            current[("device", device_id)] = (_digest(content), content)
        signing: JsonDict = {"user_id": user_id}
        if user_id in keys.master_keys:
            signing["master_key"] = keys.master_keys[user_id]
        if user_id in keys.self_signing_keys:
            signing["self_signing_key"] = keys.self_signing_keys[user_id]
        if len(signing) > 1:
            current[("signing", "")] = (_digest(signing), signing)
        sent = await self._storage.federation_e2ee.sent_digests(user_id)
        now = self._clock.now_ms()
        async with self._storage.transaction() as tx:
            store = tx.federation_e2ee
            prev = await store.last_stream_id(user_id)
            for (kind, item), (digest, content) in sorted(current.items()):
                if sent.get((kind, item)) == digest:
                    continue
                if kind == "signing":
                    await queue_edu(tx, self._sender.kick, destinations, SIGNING_KEY_UPDATE,
                                    content, now)
                else:
                    stream_id = await tx.next_stream_position()
                    await queue_edu(tx, self._sender.kick, destinations, DEVICE_LIST_UPDATE,
                                    {**content, "stream_id": stream_id,
                                     "prev_id": [] if prev is None else [prev]}, now)
                    prev = stream_id
                await store.set_sent_digest(user_id, kind, item, digest)
            for kind, item in sorted(set(sent) - set(current)):
                if kind == "device":
                    stream_id = await tx.next_stream_position()
                    await queue_edu(tx, self._sender.kick, destinations, DEVICE_LIST_UPDATE,
                                    {"user_id": user_id, "device_id": item,
                                     "stream_id": stream_id, "deleted": True,
                                     "prev_id": [] if prev is None else [prev]}, now)
                    prev = stream_id
                await store.set_sent_digest(user_id, kind, item, None)
            if prev is not None:
                await store.set_last_stream_id(user_id, prev)


class RemoteDeviceLists:
    """Inbound device-list and signing-key updates, and the admin's refresh."""

    def __init__(self, server_name: str, storage: Storage, keys: KeysService,
                 remote: RemoteE2ee) -> None:
        self._server_name = server_name
        self._storage = storage
        self._keys = keys
        self._remote = remote

    async def receive(self, origin: str, edu_type: str, content: Mapping[str, Any]) -> None:
        """An ``m.device_list_update`` or ``m.signing_key_update`` from ``origin``."""
        user_id = content.get("user_id")
        if _server(user_id) != origin:
            logger.info("ignored a %s EDU from %s about %r, not one of its users",
                        edu_type, origin, user_id)
            return
        assert isinstance(user_id, str)
        if edu_type == DEVICE_LIST_UPDATE and not isinstance(content.get("device_id"), str):
            logger.info("ignored a %s EDU from %s without a device_id", edu_type, origin)
            return
        if not await self._remote.tracked(user_id):
            return  # no user of ours shares a room with them: nobody to tell
        await self._changed(user_id)

    async def _changed(self, user_id: str) -> None:
        """Forget the user's cached device list and tell our clients it changed."""
        async with self._storage.transaction() as tx:
            await tx.federation_e2ee.drop_remote_device_list(user_id)
            await tx.keys.mark_device_list_changed(user_id, await tx.next_stream_position())
        await self._keys.notify_device_list(user_id)

    async def refresh(self, user_id: str) -> None:
        """Dendrite's ``refreshDevices``: fetch another server's user's device list from
        their server again and replace the cache (our clients see the change). A user
        whose devices we do not keep (no cache, no shared room) is left alone, as in
        Dendrite."""
        try:
            domain = parse_user_id(user_id).domain
        except InvalidId as e:
            raise errors.invalid_param(f"Invalid user ID: {e}") from e
        if domain == self._server_name:
            raise errors.invalid_param("Can not mark local device list as stale")
        if await self._storage.federation_e2ee.remote_device_list(user_id) is None and \
                not await self._remote.tracked(user_id):
            return
        try:
            await self._remote.fetch_devices(user_id)
        except (FederationError, ValueError) as e:
            raise MatrixError(502, "M_UNKNOWN",
                              f"Failed to fetch the device list of {user_id}: {e}") from e
        async with self._storage.transaction() as tx:
            await tx.keys.mark_device_list_changed(user_id, await tx.next_stream_position())
        await self._keys.notify_device_list(user_id)


class E2eeEdus:
    """The EDUs of end-to-end encryption a transaction may carry, for
    ``transactions.py`` to hand over by type."""

    TYPES = frozenset({DIRECT_TO_DEVICE, DEVICE_LIST_UPDATE, SIGNING_KEY_UPDATE})

    def __init__(self, to_device: FederationToDevice, device_lists: RemoteDeviceLists
                 ) -> None:
        self._to_device = to_device
        self._device_lists = device_lists

    async def receive(self, origin: str, edu_type: str, content: Mapping[str, Any]) -> None:
        if edu_type == DIRECT_TO_DEVICE:
            await self._to_device.receive(origin, content)
        elif edu_type in self.TYPES:
            await self._device_lists.receive(origin, edu_type, content)
