"""Synapse's admin device API (``/v2/users/{userId}/devices``): list, create, show,
rename and delete any local user's devices, without the user-interactive auth the
owner would need.

Deleting a device takes its access tokens, end-to-end keys, to-device inbox and pushers
with it (the key service records the device-list change other users' clients need).
"""

from __future__ import annotations

from typing import Any

import msgspec

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.services.keys import KeysService
from glia.services.targets import local_user
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage
from glia.storage.devices import Device

#: Longest device ID an admin may create (they end up in keys, paths and logs).
MAX_DEVICE_ID_LENGTH = 255
#: The client API's limit on device names, applied to admins too.
MAX_DISPLAY_NAME_LENGTH = 100


class AdminDevice(msgspec.Struct):
    """One device as Synapse's admin API shows it (every key, nulls included)."""

    device_id: str
    display_name: str | None
    last_seen_ip: str | None
    last_seen_user_agent: str | None
    last_seen_ts: int | None
    user_id: str

    @classmethod
    def of(cls, device: Device) -> AdminDevice:
        return cls(device.device_id, device.display_name, device.last_seen_ip,
                   device.last_seen_user_agent,
                   None if device.last_seen_ts is None else int(device.last_seen_ts),
                   device.user_id)


class AdminDevices(msgspec.Struct):
    devices: list[AdminDevice]
    total: int


class NewDevice(msgspec.Struct):
    """``POST /v2/users/{userId}/devices`` (Synapse: ``M_UNKNOWN`` for a missing or
    non-string ID)."""

    device_id: Any = None

    def __post_init__(self) -> None:
        if not self.device_id:
            raise MatrixError(400, "M_UNKNOWN", "Missing device_id")
        if not isinstance(self.device_id, str):
            raise MatrixError(400, "M_UNKNOWN", "device_id must be a string")
        if len(self.device_id) > MAX_DEVICE_ID_LENGTH:
            raise errors.invalid_param(
                f"device_id may not be longer than {MAX_DEVICE_ID_LENGTH} characters")


class DeviceUpdate(msgspec.Struct):
    """``PUT /v2/users/{userId}/devices/{deviceId}``: without ``display_name``, nothing
    changes."""

    display_name: str | None = None

    def __post_init__(self) -> None:
        if self.display_name is not None and len(self.display_name) > MAX_DISPLAY_NAME_LENGTH:
            raise MatrixError(400, "M_TOO_LARGE", "Device display name is too long "
                              f"(max {MAX_DISPLAY_NAME_LENGTH})")


class DeviceList(msgspec.Struct):
    """``POST /v2/users/{userId}/delete_devices``."""

    devices: list[str]


class DeviceAdminService:
    def __init__(self, config: Config, storage: Storage, keys: KeysService) -> None:
        self._config = config
        self._storage = storage
        self._keys = keys

    async def _user(self, user_id: str,
                    message: str = "Can only lookup local users") -> None:
        """A local user that exists (Synapse's messages, ``lookup`` spelling included)."""
        local_user(user_id, self._config.server_name, message)
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("Unknown user")

    async def list_devices(self, user_id: str) -> AdminDevices:
        await self._user(user_id)
        devices = [AdminDevice.of(d) for d in await self._storage.devices.list(user_id)]
        return AdminDevices(devices, len(devices))

    async def get(self, user_id: str, device_id: str) -> AdminDevice:
        await self._user(user_id)
        device = await self._storage.devices.get(user_id, device_id)
        if device is None:
            raise errors.not_found("No device found")
        return AdminDevice.of(device)

    async def create(self, uow: UnitOfWork, user_id: str, body: NewDevice) -> None:
        """A device without any access token (a later login may use its ID); an
        existing device is left as it is. Synapse answers 201 either way."""
        await self._user(user_id, "Can only create devices for local users")
        uow.succeeds_with(201)
        async with uow.transaction() as tx:
            await tx.devices.upsert(user_id, body.device_id, None, now_ms())

    async def rename(self, uow: UnitOfWork, user_id: str, device_id: str,
                     body: DeviceUpdate) -> None:
        """Set ``display_name``; a body without it changes nothing (Synapse)."""
        await self._user(user_id)
        if await self._storage.devices.get(user_id, device_id) is None:
            raise errors.not_found("Device not found")
        async with uow.transaction() as tx:
            if body.display_name is not None:
                await tx.devices.set_display_name(user_id, device_id, body.display_name)
                await self._keys.device_list_changed(tx, user_id)

    async def delete(self, uow: UnitOfWork, user_id: str, device_ids: list[str]) -> None:
        """Delete devices (unknown IDs are ignored, as in Synapse: ``{}`` either way)."""
        await self._user(user_id)
        async with uow.transaction() as tx:
            for device_id in device_ids:
                # Before the row goes: its keys, inbox and pushers go with it by cascade.
                await self._keys.device_deleted(tx, user_id, device_id)
                await tx.devices.delete(user_id, device_id)
        if device_ids:
            await self._keys.notify_device_list(user_id)
