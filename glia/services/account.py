"""The caller's own account: password change and deactivation (both behind UIA)."""

from __future__ import annotations

import msgspec

from glia import errors
from glia.services.auth import AuthService, Requester
from glia.services.device_removal import DeviceRemoval
from glia.services.jobs import JobsService
from glia.services.login import LoginService
from glia.services.threepid_bindings import ThreepidBindings
from glia.services.uia import PASSWORD, PasswordAuth, StageAuth, StageChecker, UiaService
from glia.storage import Storage, Stores

#: The job that takes a deactivated user out of every room.
LEAVE_ALL_ROOMS = "leave_all_rooms"


class PasswordChange(msgspec.Struct):
    """``POST /account/password`` (its UIA ``auth`` aside)."""

    new_password: str
    logout_devices: bool = True


class Deactivation(msgspec.Struct):
    """``POST /account/deactivate`` (its UIA ``auth`` aside). ``id_server`` names the
    identity server to unbind the user's bound 3PIDs from, instead of the ones they were
    bound at."""

    erase: bool = False
    id_server: str | None = None


class AccountService:
    def __init__(
        self, storage: Storage, auth: AuthService, login: LoginService, uia: UiaService,
        jobs: JobsService, device_removal: DeviceRemoval, bindings: ThreepidBindings,
    ) -> None:
        self._bindings = bindings
        self._device_removal = device_removal
        self._storage = storage
        self._auth = auth
        self._login = login
        self._uia = uia
        self._jobs = jobs

    def password_stage(self, user_id: str) -> StageChecker:
        """A UIA ``m.login.password`` checker that must name the caller themself."""

        async def check(auth: PasswordAuth) -> None:
            named = await self._login.user_id_of(auth.identifier, auth.user)
            if named.lower() != user_id.lower():
                raise errors.forbidden("Invalid username or password")
            await self._login.check_password_of(user_id, auth.password)

        return check

    async def require_password(
        self, requester: Requester, auth: StageAuth | None, scope: str
    ) -> None:
        """Password UIA for ``scope``: returns once the caller has passed it."""
        await self._uia.authenticate(
            auth,
            scope=scope,
            flows=[[PASSWORD]],
            checkers={PASSWORD: self.password_stage(requester.user_id)},
            user_id=requester.user_id,
        )

    async def change_password(self, requester: Requester, change: PasswordChange,
                              auth: StageAuth | None) -> None:
        new_password = self._auth.validate_new_password(change.new_password)
        await self.require_password(requester, auth, "account/password")
        await self.set_password(requester.user_id, new_password, change.logout_devices,
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

    async def deactivate(self, requester: Requester, deactivation: Deactivation,
                         auth: StageAuth | None) -> str:
        """Deactivate the caller's account; returns the spec's ``id_server_unbind_result``."""
        await self.require_password(requester, auth, "account/deactivate")
        result = await self.unbind_threepids(requester.user_id, deactivation.id_server)
        await self.deactivate_user(requester.user_id, deactivation.erase)
        return result

    async def unbind_threepids(self, user_id: str, id_server: str | None = None) -> str:
        """Before a deactivation (it makes identity servers forget the user, so it runs
        first, outside the deactivation's transaction, as on Synapse): unbind every 3PID
        the user bound through this server; ``success`` or ``no-support``."""
        return await self._bindings.unbind_all(user_id, id_server)

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
