"""Account administration: Synapse's ``/v2/users`` list, get and create-or-modify, the
admin flag, deactivation, password resets, whois, and Dendrite's ``resetPassword``.

Field names, defaults, units (``creation_ts`` in seconds on the single-user object and in
milliseconds in the list) and error messages follow Synapse, because admin tools parse
them literally.
"""

from __future__ import annotations

import dataclasses

import msgspec

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import InvalidId, UserId, new_device_id, parse_user_id
from glia.services.account import AccountService
from glia.services.admin.user_requests import (
    DENDRITE_MAX_PASSWORD,
    AdminFlag,
    Deactivation,
    DendritePasswordReset,
    LoginAs,
    PasswordReset,
    Suspension,
    Threepid,
    UserPut,
)
from glia.services.admin.user_results import (
    Connection,
    Deactivated,
    DeviceSessions,
    LoginAsToken,
    PasswordUpdated,
    Session,
    UserDetails,
    UserList,
    UserListItem,
    Whois,
)
from glia.services.auth import AuthService, Requester, hash_token, new_access_token
from glia.services.paging import next_offset
from glia.services.profile import ProfileService
from glia.services.registration import RegistrationService
from glia.services.targets import local_user, parse_user
from glia.services.unit_of_work import UnitOfWork
from glia.services.user_directory import refresh_local
from glia.storage import Storage
from glia.storage.users import USER_ORDER, UserListQuery

__all__ = ["USER_ORDER", "UserAdminService", "UserListQuery"]


class UserAdminService:
    def __init__(self, config: Config, storage: Storage, auth: AuthService,
                 account: AccountService, registration: RegistrationService,
                 profile: ProfileService) -> None:
        self._config = config
        self._storage = storage
        self._auth = auth
        self._account = account
        self._registration = registration
        self._profile = profile

    def local_user(self, user_id: str, message: str) -> UserId:
        """Parse a user ID that must be local (Synapse's ``400 M_UNKNOWN`` otherwise)."""
        return local_user(user_id, self._config.server_name, message)

    async def page(self, query: UserListQuery, offset: int, limit: int) -> UserList:
        """A page of users; ``next_token`` is the offset after it while more remain."""
        if query.order_by not in USER_ORDER:
            raise errors.invalid_param(
                f"Query parameter 'order_by' must be one of {sorted(USER_ORDER)}")
        notices = self._config.server_notices
        if notices.enabled:
            # Synapse's notices sender is no account: tools must not list (or deactivate) it.
            query = dataclasses.replace(query, hidden_user_id=(
                f"@{notices.system_mxid_localpart}:{self._config.server_name}"))
        users, total = await self._storage.admin_users.page(query, offset, limit)
        following = next_offset(offset, len(users), total)
        return UserList([UserListItem.of(u) for u in users], total,
                        msgspec.UNSET if following is None else str(following))

    async def get(self, user_id: str) -> UserDetails:
        self.local_user(user_id, "Can only look up local users")
        return await self._user_object(user_id)

    async def _user_object(self, user_id: str) -> UserDetails:
        view = await self._storage.admin_users.view(user_id)
        if view is None:
            raise errors.not_found("User not found")
        details = UserDetails.of_account(
            view, await self._storage.admin_users.threepids(user_id),
            await self._storage.admin_users.external_ids(user_id))
        # The application service that registered the user (Synapse shows it here).
        details.appservice_id = await self._storage.appservices.user_service(user_id)
        return details

    async def put(self, uow: UnitOfWork, user_id: str, body: UserPut) -> UserDetails:
        """Create (Synapse answers 201, which the unit of work records) or modify an
        account.

        The account, its flags and its profile change in one transaction with the audit
        row; a changed display name or avatar is then announced in the user's rooms
        (new member events, each committed by the event writer on its own)."""
        await self._check_new_localpart(user_id)
        parsed = self.local_user(user_id, "This endpoint can only be used with local users")
        requester = uow.requester
        if body.admin is False and user_id == requester.user_id:
            raise MatrixError(400, "M_UNKNOWN", "You may not demote yourself.")
        threepids = _pairs(body.threepids)
        external_ids = None if body.external_ids is None else [
            (e.auth_provider, e.external_id) for e in body.external_ids]
        existing = await self._storage.users.get(user_id)
        password_hash = await self._auth.hash_password(body.password) if body.password \
            else None
        for provider, external_id in external_ids or ():
            owner = await self._storage.admin_users.external_id_owner(provider, external_id)
            if owner is not None and owner != user_id:
                raise MatrixError(409, "M_UNKNOWN", "External id is already in use.")
        now = now_ms()
        user_type = body.user_type
        displayname, avatar_url = body.displayname, body.avatar_url
        if existing is None:
            await self._registration.check_available(parsed.localpart)
            uow.succeeds_with(201)
            async with uow.transaction() as tx:
                await tx.users.create(user_id, password_hash, admin=bool(body.admin),
                                      user_type=None if user_type is msgspec.UNSET
                                      else user_type, creation_ts=now)
                await tx.profile.create(user_id, displayname or parsed.localpart)
                if avatar_url:
                    await tx.profile.set_avatar_url(user_id, avatar_url)
                await refresh_local(tx, user_id)
                if threepids:
                    await tx.admin_users.replace_threepids(user_id, threepids, now)
                if external_ids:
                    await tx.admin_users.replace_external_ids(user_id, external_ids)
            return await self._user_object(user_id)

        if body.deactivated is True and not existing.deactivated:
            await self._account.unbind_threepids(user_id)  # as Synapse, before deactivating
        async with uow.transaction() as tx:
            if threepids is not None:
                await tx.admin_users.replace_threepids(user_id, threepids, now)
            if external_ids is not None:
                await tx.admin_users.replace_external_ids(user_id, external_ids)
            if body.admin is not None:
                await tx.users.set_admin(user_id, body.admin)
            if password_hash is not None:
                await self._account.write_password(tx, user_id, password_hash,
                                                   body.logout_devices)
            if body.deactivated is True and not existing.deactivated:
                await self._account.deactivate_in(tx, user_id, False, requester.user_id)
            elif body.deactivated is False and existing.deactivated:
                await tx.users.set_deactivated(user_id, False)
                await tx.admin_users.set_flag(user_id, "erased", False)
            if body.locked is not None:
                await tx.users.set_locked(user_id, body.locked)
            if user_type is not msgspec.UNSET:
                await tx.users.set_user_type(user_id, user_type)
            if displayname is not msgspec.UNSET:
                await tx.profile.set_displayname(user_id, displayname or None)
            if avatar_url is not msgspec.UNSET:
                await tx.profile.set_avatar_url(user_id, avatar_url or None)
        # Clients read names and avatars from member events: announce the change.
        if displayname is not msgspec.UNSET:
            await self._profile.set_displayname(requester, user_id, displayname)
        if avatar_url is not msgspec.UNSET:
            await self._profile.set_avatar_url(requester, user_id, avatar_url)
        return await self._user_object(user_id)

    async def is_admin(self, user_id: str) -> bool:
        self.local_user(user_id, "Only local users can be admins of this homeserver")
        user = await self._storage.users.get(user_id)
        return bool(user and user.admin)

    async def set_admin(self, uow: UnitOfWork, user_id: str, body: AdminFlag) -> None:
        self.local_user(user_id, "Only local users can be admins of this homeserver")
        admin = bool(body.admin)
        if not admin and user_id == uow.actor:
            raise MatrixError(400, "M_UNKNOWN", "You may not demote yourself.")
        if await self._storage.users.get(user_id) is None:
            raise _no_row()
        async with uow.transaction() as tx:
            await tx.users.set_admin(user_id, admin)

    async def deactivate(self, uow: UnitOfWork, user_id: str, body: Deactivation
                         ) -> Deactivated:
        """Deactivate now; leaving the user's rooms is a job whose row commits with the
        deactivation and the audit row."""
        self.local_user(user_id, "Can only deactivate local users")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        unbound = await self._account.unbind_threepids(user_id)
        async with uow.transaction() as tx:
            job_id = await self._account.deactivate_in(tx, user_id, bool(body.erase),
                                                       uow.actor)
        # Glia extra: the job that takes the user out of their rooms.
        return Deactivated(job_id, unbound)

    async def reset_password(self, uow: UnitOfWork, user_id: str, body: PasswordReset
                             ) -> None:
        """Synapse's reset: no password policy, logs out unless ``logout_devices`` false."""
        self._parse(user_id)
        await self._reset(uow, user_id, body.new_password,
                          True if body.logout_devices is None else body.logout_devices)

    async def dendrite_reset_password(self, uow: UnitOfWork, user_id: str,
                                      body: DendritePasswordReset) -> PasswordUpdated:
        """Dendrite's ``resetPassword`` with Dendrite's errors: a malformed or remote
        user ID → ``400 M_INVALID_PARAM``, an unknown user → ``404 M_UNKNOWN``."""
        if parse_user(user_id).domain != self._config.server_name:
            raise errors.invalid_param("Can only reset the password of local users")
        if await self._storage.users.get(user_id) is None:
            raise MatrixError(404, "M_UNKNOWN", "User does not exist")
        if len(body.password) > DENDRITE_MAX_PASSWORD:
            raise errors.bad_json(f"password too long: max {DENDRITE_MAX_PASSWORD} chars")
        await self._reset(uow, user_id, body.password, body.logout_devices)
        return PasswordUpdated()

    async def _reset(self, uow: UnitOfWork, user_id: str, password: str,
                     logout_devices: bool) -> None:
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("Unknown user")
        password_hash = await self._auth.hash_password(password)
        requester = uow.requester
        keep = requester.device_id if requester.user_id == user_id else None
        async with uow.transaction() as tx:
            await self._account.write_password(tx, user_id, password_hash, logout_devices,
                                               keep)

    async def whois(self, requester: Requester, user_id: str) -> Whois:
        """Admins may ask about anyone, users about themselves. As Synapse, every
        connection (one per access token and address, newest first) sits under the
        empty device key: tools read ``devices[""]``."""
        if user_id != requester.user_id and not requester.is_admin:
            raise errors.forbidden("You are not a server admin")
        self.local_user(user_id, "Can only whois a local user")
        rows = await self._storage.devices.connections(user_id)
        connections = [Connection(row["ip"], int(row["last_seen"]), row["user_agent"])
                       for row in rows]
        return Whois(user_id, {"": DeviceSessions([Session(connections)])})

    async def suspend(self, uow: UnitOfWork, user_id: str, body: Suspension
                      ) -> dict[str, bool]:
        """Suspend or unsuspend (the user keeps their sessions; what they may still do is
        enforced by the event writer and the profile service)."""
        self.local_user(user_id, "Can only suspend local users")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        async with uow.transaction() as tx:
            await tx.admin_users.set_flag(user_id, "suspended", body.suspend)
        return {f"user_{user_id}_suspended": body.suspend}

    async def set_shadow_ban(self, uow: UnitOfWork, user_id: str, banned: bool) -> None:
        """An unknown local user is Synapse's failed row update (``404 M_UNKNOWN``)."""
        self.local_user(user_id, "Only local users can be shadow-banned")
        if await self._storage.users.get(user_id) is None:
            raise _no_row()
        async with uow.transaction() as tx:
            await tx.admin_users.set_flag(user_id, "shadow_banned", banned)

    async def login_as(self, uow: UnitOfWork, user_id: str, body: LoginAs
                       ) -> LoginAsToken:
        """Impersonation: a token acting as the user but held by the admin, without a
        device row (the user cannot see it); ``/logout`` with it or the admin's
        ``/logout/all`` ends it, the user's own ``/logout/all`` does not."""
        self.local_user(user_id, "Only local users can be logged in as")
        if user_id == uow.actor:
            raise MatrixError(400, "M_UNKNOWN", "Cannot use admin API to login as self")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        token = new_access_token()
        async with uow.transaction() as tx:
            await tx.devices.add_token(hash_token(token), user_id, new_device_id(), now_ms(),
                                       puppeted_by=uow.actor,
                                       valid_until_ms=body.valid_until_ms)
        return LoginAsToken(token)

    # -- the spec's suspension and lock (``/_matrix/client/v1/admin/…``) ---------------

    async def spec_target(self, user_id: str) -> UserDetails:
        """The target as the spec's errors want it: local (else ``400
        M_INVALID_PARAM``), existing and active (else ``404``), not an admin (else
        ``403``)."""
        try:
            parsed = parse_user_id(user_id)
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        if parsed.domain != self._config.server_name:
            raise errors.invalid_param("User does not belong to the local server.")
        user = await self._storage.admin_users.view(user_id)
        if user is None or user.deactivated:
            raise errors.not_found("User not found.")
        if user.admin:
            raise errors.forbidden("The target user is a server administrator.")
        return await self._user_object(user_id)

    async def spec_suspend(self, uow: UnitOfWork, user_id: str, suspended: bool) -> None:
        if user_id == uow.actor:
            raise errors.forbidden("You may not suspend yourself.")
        await self.spec_target(user_id)
        await self.suspend(uow, user_id, Suspension(suspended))

    async def spec_lock(self, uow: UnitOfWork, user_id: str, locked: bool) -> None:
        """A locked account cannot log in and its sessions answer ``401
        M_USER_LOCKED``."""
        if user_id == uow.actor:
            raise errors.forbidden("You may not lock yourself.")
        await self.spec_target(user_id)
        await self.put(uow, user_id, UserPut(locked=locked))

    async def _check_new_localpart(self, user_id: str) -> None:
        """Synapse reads ``@localpart:domain`` loosely here and judges the localpart of
        an ID of this server as a new username would be (``400 M_INVALID_USERNAME``),
        where Glia's strict parse would say the ID is malformed."""
        localpart, _, domain = user_id[1:].partition(":")
        if user_id.startswith("@") and domain == self._config.server_name:
            try:
                parse_user_id(user_id)
            except InvalidId:
                await self._registration.check_available(localpart)

    @staticmethod
    def _parse(user_id: str) -> UserId:
        return parse_user(user_id)


def _pairs(threepids: list[Threepid] | None) -> list[tuple[str, str]] | None:
    return None if threepids is None else [(t.medium, t.address) for t in threepids]


def _no_row() -> MatrixError:
    """What Synapse answers where it updates a user row that is not there (its storage
    error, not a not-found error): admin tools see exactly this."""
    return MatrixError(404, "M_UNKNOWN", "No row found")
