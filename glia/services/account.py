"""The caller's own account: password change and deactivation (both behind UIA)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.services.auth import AuthService, Requester
from glia.services.device_removal import DeviceRemoval
from glia.services.jobs import JobsService
from glia.services.login import LoginService
from glia.services.uia import PASSWORD, StageChecker, UiaService
from glia.storage import Storage, Stores

#: The job that takes a deactivated user out of every room.
LEAVE_ALL_ROOMS = "leave_all_rooms"


class AccountService:
    def __init__(
        self, storage: Storage, auth: AuthService, login: LoginService, uia: UiaService,
        jobs: JobsService, device_removal: DeviceRemoval,
    ) -> None:
        self._device_removal = device_removal
        self._storage = storage
        self._auth = auth
        self._login = login
        self._uia = uia
        self._jobs = jobs

    def password_stage(self, user_id: str) -> StageChecker:
        """A UIA ``m.login.password`` checker that must name the caller themself."""

        async def check(auth: Mapping[str, Any]) -> None:
            named = self._login.user_id_from_identifier(auth)
            if named.lower() != user_id.lower():
                raise errors.forbidden("Invalid username or password")
            await self._login.check_password_of(user_id, auth.get("password"))

        return check

    async def require_password(
        self, requester: Requester, body: Mapping[str, Any], scope: str
    ) -> None:
        await self._uia.authenticate(
            body,
            scope=scope,
            flows=[[PASSWORD]],
            checkers={PASSWORD: self.password_stage(requester.user_id)},
            user_id=requester.user_id,
        )

    async def change_password(self, requester: Requester, body: Mapping[str, Any]) -> None:
        new_password = body.get("new_password")
        if new_password is None:
            raise errors.missing_param("Missing params: new_password")
        new_password = self._auth.validate_new_password(new_password)
        logout_devices = body.get("logout_devices", True)
        if not isinstance(logout_devices, bool):
            raise errors.bad_json("logout_devices must be a boolean")
        await self.require_password(requester, body, "account/password")
        await self.set_password(requester.user_id, new_password, logout_devices,
                                keep_device=requester.device_id)

    async def set_password(
        self, user_id: str, new_password: str, logout_devices: bool,
        keep_device: str | None = None,
    ) -> None:
        """Set a password; optionally end every other session. Also used by admin resets."""
        password_hash = await self._auth.hash_password(new_password)
        async with self._storage.transaction() as tx:
            await self.write_password(tx, user_id, password_hash, logout_devices, keep_device)

    async def write_password(self, tx: Stores, user_id: str, password_hash: str,
                             logout_devices: bool, keep_device: str | None = None) -> None:
        """Store a hashed password in the caller's transaction (admin resets audit it)."""
        await tx.users.set_password_hash(user_id, password_hash)
        if logout_devices:
            devices = [d.device_id for d in await tx.devices.list(user_id)
                       if d.device_id != keep_device]
            await self._device_removal.before_delete(tx, user_id, devices)
            await tx.devices.delete_all_for_user(user_id, except_device=keep_device)

    async def deactivate(self, requester: Requester, body: Mapping[str, Any]) -> None:
        erase = body.get("erase", False)
        if not isinstance(erase, bool):
            raise errors.bad_json("erase must be a boolean")
        await self.require_password(requester, body, "account/deactivate")
        await self.deactivate_user(requester.user_id, erase)

    async def deactivate_user(self, user_id: str, erase: bool) -> None:
        async with self._storage.transaction() as tx:
            await self.deactivate_in(tx, user_id, erase, started_by=user_id)

    async def deactivate_in(self, tx: Stores, user_id: str, erase: bool,
                            started_by: str) -> str:
        """Lock the account out for good, in the caller's transaction: no password, no
        sessions, no 3PIDs; erase clears the profile. Leaving the user's rooms is a job
        (returned), scheduled in the same transaction so it happens even after a crash."""
        await tx.users.set_deactivated(user_id, True)
        await tx.users.set_password_hash(user_id, None)
        await self._device_removal.before_delete(tx, user_id)
        await tx.devices.delete_all_for_user(user_id)
        await tx.admin_users.delete_threepids(user_id)
        if erase:
            await tx.profile.set_displayname(user_id, None)
            await tx.profile.set_avatar_url(user_id, None)
            await tx.admin_users.set_flag(user_id, "erased", True)
        return await self._jobs.schedule(LEAVE_ALL_ROOMS, {"user_id": user_id}, started_by,
                                         tx=tx, target=user_id)
