"""The caller's devices: list, rename, delete (deletion behind UIA)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glia import errors
from glia.services.account import AccountService
from glia.services.keys import KeysService
from glia.services.uia import StageAuth
from glia.storage import Storage
from glia.storage.devices import Device

if TYPE_CHECKING:
    from glia.services.unit_of_work import UnitOfWork

__all__ = ["Device", "DeviceService"]


class DeviceService:
    def __init__(self, storage: Storage, account: AccountService, keys: KeysService) -> None:
        self._storage = storage
        self._account = account
        self._keys = keys

    async def list_for(self, user_id: str) -> list[Device]:
        return await self._storage.devices.list(user_id)

    async def get(self, user_id: str, device_id: str) -> Device:
        device = await self._storage.devices.get(user_id, device_id)
        if device is None:
            raise errors.not_found("Device not found")
        return device

    async def rename(self, uow: UnitOfWork, device_id: str, name: str | None) -> None:
        """Rename one of the caller's devices, in the request's transaction."""
        user_id = uow.requester.user_id
        if name is not None and len(name) > 100:
            raise errors.invalid_param("display_name is too long (max 100)")
        await self.get(user_id, device_id)
        if name is not None:  # absent (or null): unchanged, as the spec says
            async with uow.transaction() as tx:
                await tx.devices.set_display_name(user_id, device_id, name)
                await self._keys.device_list_changed(tx, user_id)

    async def delete(self, uow: UnitOfWork, device_ids: list[str],
                     auth: StageAuth | None) -> None:
        """Delete the caller's devices after password UIA, in the request's transaction;
        unknown IDs are ignored, as the spec says."""
        requester = uow.requester
        await self._account.require_password(
            requester, auth, "delete_devices:" + ",".join(sorted(device_ids))
        )
        async with uow.transaction() as tx:
            for device_id in device_ids:
                # Before the row goes: its keys and inbox go with it by cascade.
                await self._keys.device_deleted(tx, requester.user_id, device_id)
                await tx.devices.delete(requester.user_id, device_id)
        if device_ids:
            await self._keys.notify_device_list(requester.user_id)
