"""Account administration: Synapse's ``/v2/users`` list, get and create-or-modify, the
admin flag, deactivation, password resets, whois, and Dendrite's ``resetPassword``.

Field names, defaults, units (``creation_ts`` in seconds on the single-user object and in
milliseconds in the list) and error messages follow Synapse, because admin tools parse
them literally.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import UserId, new_device_id
from glia.protocol.events import CANONICAL_INT_MAX
from glia.services.account import AccountService
from glia.services.audit import AuditEntry, AuditService
from glia.services.auth import AuthService, Requester, hash_token, new_access_token
from glia.services.profile import ProfileService
from glia.services.registration import RegistrationService
from glia.services.targets import local_user, parse_user
from glia.storage import Storage
from glia.storage.users import USER_ORDER, AdminUserView, UserListQuery

__all__ = ["USER_ORDER", "UserAdminService", "UserListQuery"]

USER_TYPES = ("bot", "support")
#: Dendrite's password rules for ``resetPassword``.
DENDRITE_MIN_PASSWORD, DENDRITE_MAX_PASSWORD = 8, 512


def list_item(user: AdminUserView) -> dict[str, Any]:
    """One row of ``GET /v2/users`` (``creation_ts`` in milliseconds here)."""
    return {
        "name": user.user_id, "user_type": user.user_type, "is_guest": user.is_guest,
        "admin": user.admin, "deactivated": user.deactivated,
        "shadow_banned": user.shadow_banned, "displayname": user.displayname,
        "avatar_url": user.avatar_url, "creation_ts": user.creation_ts, "approved": True,
        "erased": user.erased, "last_seen_ts": user.last_seen_ts, "locked": user.locked,
    }


def _bool_param(body: Mapping[str, Any], key: str, message: str | None = None) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise errors.bad_json(message or f"Param '{key}' must be a boolean, if given")
    return value


class UserAdminService:
    def __init__(self, config: Config, storage: Storage, auth: AuthService,
                 account: AccountService, registration: RegistrationService,
                 profile: ProfileService, audit: AuditService) -> None:
        self._config = config
        self._storage = storage
        self._auth = auth
        self._account = account
        self._registration = registration
        self._profile = profile
        self._audit = audit

    def local_user(self, user_id: str, message: str) -> UserId:
        """Parse a user ID that must be local (Synapse's ``400 M_UNKNOWN`` otherwise)."""
        return local_user(user_id, self._config.server_name, message)

    async def page(self, query: UserListQuery, offset: int, limit: int
                   ) -> tuple[list[dict[str, Any]], int]:
        users, total = await self._storage.admin_users.page(query, offset, limit)
        return [list_item(u) for u in users], total

    async def get(self, user_id: str) -> dict[str, Any]:
        self.local_user(user_id, "Can only look up local users")
        return await self._user_object(user_id)

    async def _user_object(self, user_id: str) -> dict[str, Any]:
        view = await self._storage.admin_users.view(user_id)
        if view is None:
            raise errors.not_found("User not found")
        threepids = await self._storage.admin_users.threepids(user_id)
        external = await self._storage.admin_users.external_ids(user_id)
        body = list_item(view)
        body.update({
            "creation_ts": view.creation_ts // 1000,
            "threepids": [dict(t) for t in threepids],
            "external_ids": [dict(e) for e in external],
            "suspended": view.suspended, "appservice_id": None,
            "consent_server_notice_sent": None, "consent_version": None, "consent_ts": None,
        })
        return body

    async def put(self, requester: Requester, user_id: str, body: Mapping[str, Any],
                  entry: AuditEntry | None) -> tuple[bool, dict[str, Any]]:
        """Create or modify an account; True when it was created (Synapse's 201)."""
        parsed = self.local_user(user_id, "This endpoint can only be used with local users")
        password = body.get("password")
        if password is not None and (not isinstance(password, str) or len(password) > 512):
            raise MatrixError(400, "M_UNKNOWN", "Invalid password")
        logout_devices = body.get("logout_devices", True)
        if not isinstance(logout_devices, bool):
            raise MatrixError(400, "M_UNKNOWN",
                              "'logout_devices' parameter is not of type boolean")
        admin = _bool_param(body, "admin")
        deactivated = _bool_param(body, "deactivated",
                                  "'deactivated' parameter is not of type boolean")
        locked = _bool_param(body, "locked", "'locked' parameter is not of type boolean")
        if deactivated and locked:
            raise MatrixError(400, "M_UNKNOWN", "An user can't be deactivated and locked")
        user_type = body.get("user_type", ...)
        if user_type is not ... and user_type is not None and user_type not in USER_TYPES:
            raise MatrixError(400, "M_UNKNOWN", "Invalid user type")
        for key in ("displayname", "avatar_url"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise errors.bad_json(f"{key} must be a string")
        threepids = _pairs(body, "threepids", ("medium", "address"))
        external_ids = _pairs(body, "external_ids", ("auth_provider", "external_id"))
        if admin is False and user_id == requester.user_id:
            raise MatrixError(400, "M_UNKNOWN", "You may not demote yourself.")

        existing = await self._storage.users.get(user_id)
        password_hash = await self._auth.hash_password(password) if password else None
        if external_ids is not None:
            for provider, external_id in external_ids:
                owner = await self._storage.admin_users.external_id_owner(provider,
                                                                          external_id)
                if owner is not None and owner != user_id:
                    raise MatrixError(409, "M_UNKNOWN", "External id is already in use.")
        now = now_ms()
        if existing is None:
            await self._registration.check_available(parsed.localpart)
            async with self._audit.transaction(entry) as tx:
                await tx.users.create(user_id, password_hash, admin=bool(admin),
                                      user_type=None if user_type is ... else user_type,
                                      creation_ts=now)
                displayname = body.get("displayname")
                await tx.profile.create(user_id, displayname or parsed.localpart)
                if isinstance(body.get("avatar_url"), str) and body["avatar_url"]:
                    await tx.profile.set_avatar_url(user_id, body["avatar_url"])
                if threepids:
                    await tx.admin_users.replace_threepids(user_id, threepids, now)
                if external_ids:
                    await tx.admin_users.replace_external_ids(user_id, external_ids)
            return True, await self._user_object(user_id)

        async with self._audit.transaction(entry) as tx:
            if threepids is not None:
                await tx.admin_users.replace_threepids(user_id, threepids, now)
            if external_ids is not None:
                await tx.admin_users.replace_external_ids(user_id, external_ids)
            if admin is not None:
                await tx.users.set_admin(user_id, admin)
            if password_hash is not None:
                await self._account.write_password(tx, user_id, password_hash,
                                                   logout_devices)
            if deactivated is True and not existing.deactivated:
                await self._account.deactivate_in(tx, user_id, False, requester.user_id)
            elif deactivated is False and existing.deactivated:
                await tx.users.set_deactivated(user_id, False)
                await tx.admin_users.set_flag(user_id, "erased", False)
            if locked is not None:
                await tx.users.set_locked(user_id, locked)
            if user_type is not ...:
                await tx.users.set_user_type(user_id, user_type)
        # Profile changes are announced in the user's rooms (new member events).
        if "displayname" in body:
            await self._profile.set_displayname(requester, user_id, body["displayname"])
        if "avatar_url" in body:
            await self._profile.set_avatar_url(requester, user_id, body["avatar_url"])
        return False, await self._user_object(user_id)

    async def is_admin(self, user_id: str) -> bool:
        self.local_user(user_id, "Only local users can be admins of this homeserver")
        user = await self._storage.users.get(user_id)
        return bool(user and user.admin)

    async def set_admin(self, requester: Requester, user_id: str, body: Mapping[str, Any],
                        entry: AuditEntry | None) -> None:
        self.local_user(user_id, "Only local users can be admins of this homeserver")
        if "admin" not in body:
            raise errors.missing_param("Missing params: ['admin']")
        admin = bool(body["admin"])
        if not admin and user_id == requester.user_id:
            raise MatrixError(400, "M_UNKNOWN", "You may not demote yourself.")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        async with self._audit.transaction(entry) as tx:
            await tx.users.set_admin(user_id, admin)

    async def deactivate(self, requester: Requester, user_id: str, body: Mapping[str, Any],
                         entry: AuditEntry | None) -> dict[str, Any]:
        erase = _bool_param(body, "erase") or False
        self.local_user(user_id, "Can only deactivate local users")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        async with self._audit.transaction(entry) as tx:
            job_id = await self._account.deactivate_in(tx, user_id, erase, requester.user_id)
        # Glia extra: the job that takes the user out of their rooms.
        return {"id_server_unbind_result": "success", "leave_rooms_job_id": job_id}

    async def reset_password(self, requester: Requester, user_id: str,
                             body: Mapping[str, Any], entry: AuditEntry | None) -> None:
        """Synapse's reset: no password policy, logs out unless ``logout_devices`` false."""
        self._parse(user_id)
        new_password = body.get("new_password")
        if new_password is None:
            raise errors.missing_param("Missing params: ['new_password']")
        if not isinstance(new_password, str) or len(new_password) > 512:
            raise MatrixError(400, "M_UNKNOWN", "Invalid password")
        logout_devices = _bool_param(body, "logout_devices")
        await self._reset(requester, user_id, new_password,
                          True if logout_devices is None else logout_devices, entry)

    async def dendrite_reset_password(self, requester: Requester, user_id: str,
                                      body: Mapping[str, Any],
                                      entry: AuditEntry | None) -> dict[str, Any]:
        """Dendrite's ``resetPassword``: 8–512 characters, local users only."""
        self.local_user(user_id, "Can only reset the password of local users")
        password = body.get("password")
        if not isinstance(password, str):
            raise errors.missing_param("Expecting a 'password' string")
        if not DENDRITE_MIN_PASSWORD <= len(password) <= DENDRITE_MAX_PASSWORD:
            raise MatrixError(400, "M_WEAK_PASSWORD",
                              f"Password must be {DENDRITE_MIN_PASSWORD} to "
                              f"{DENDRITE_MAX_PASSWORD} characters")
        logout_devices = _bool_param(body, "logout_devices")
        await self._reset(requester, user_id, password, bool(logout_devices), entry)
        return {"password_updated": True}

    async def _reset(self, requester: Requester, user_id: str, password: str,
                     logout_devices: bool, entry: AuditEntry | None) -> None:
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("Unknown user")
        password_hash = await self._auth.hash_password(password)
        keep = requester.device_id if requester.user_id == user_id else None
        async with self._audit.transaction(entry) as tx:
            await self._account.write_password(tx, user_id, password_hash, logout_devices,
                                               keep)

    async def whois(self, requester: Requester, user_id: str) -> dict[str, Any]:
        """Admins may ask about anyone, users about themselves."""
        if user_id != requester.user_id and not requester.is_admin:
            raise errors.forbidden("You are not a server admin")
        self.local_user(user_id, "Can only whois a local user")
        rows = await self._storage.devices.connections(user_id)
        devices: dict[str, Any] = {}
        for row in rows:
            sessions = devices.setdefault(row["device_id"], {"sessions": [{"connections": []}]})
            sessions["sessions"][0]["connections"].append({
                "ip": row["ip"], "last_seen": int(row["last_seen"]),
                "user_agent": row["user_agent"]})
        return {"user_id": user_id, "devices": devices}

    async def suspend(self, user_id: str, body: Mapping[str, Any],
                      entry: AuditEntry | None) -> dict[str, Any]:
        """Suspend or unsuspend (the user keeps their sessions; what they may still do is
        enforced by the event writer and the profile service)."""
        self.local_user(user_id, "Can only suspend local users")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        if "suspend" not in body:
            raise errors.missing_param("Missing params: ['suspend']")
        suspend = body["suspend"]
        if not isinstance(suspend, bool):
            raise errors.bad_json("Param 'suspend' must be a boolean")
        async with self._audit.transaction(entry) as tx:
            await tx.admin_users.set_flag(user_id, "suspended", suspend)
        return {f"user_{user_id}_suspended": suspend}

    async def set_shadow_ban(self, user_id: str, banned: bool,
                             entry: AuditEntry | None) -> None:
        """Synapse checks only locality here, not existence (nothing to flag then)."""
        self.local_user(user_id, "Only local users can be shadow-banned")
        async with self._audit.transaction(entry) as tx:
            await tx.admin_users.set_flag(user_id, "shadow_banned", banned)

    async def login_as(self, requester: Requester, user_id: str, body: Mapping[str, Any],
                       entry: AuditEntry | None) -> dict[str, Any]:
        """Impersonation: a token acting as the user but held by the admin, without a
        device row (the user cannot see it); ``/logout`` with it or the admin's
        ``/logout/all`` ends it, the user's own ``/logout/all`` does not."""
        self.local_user(user_id, "Only local users can be logged in as")
        valid_until_ms = body.get("valid_until_ms")
        if valid_until_ms is not None and type(valid_until_ms) is not int:
            raise MatrixError(400, "M_UNKNOWN", "'valid_until_ms' parameter must be an int")
        if valid_until_ms is not None and not 0 <= valid_until_ms <= CANONICAL_INT_MAX:
            raise errors.invalid_param("'valid_until_ms' is out of range")
        if user_id == requester.user_id:
            raise MatrixError(400, "M_UNKNOWN", "Cannot use admin API to login as self")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        token = new_access_token()
        async with self._audit.transaction(entry) as tx:
            await tx.devices.add_token(hash_token(token), user_id, new_device_id(), now_ms(),
                                       puppeted_by=requester.user_id,
                                       valid_until_ms=valid_until_ms)
        return {"access_token": token}

    @staticmethod
    def _parse(user_id: str) -> UserId:
        return parse_user(user_id)


def _pairs(body: Mapping[str, Any], key: str, fields: tuple[str, str]
           ) -> list[tuple[str, str]] | None:
    """A list of two-field objects (``threepids``, ``external_ids``), or None if absent."""
    items = body.get(key)
    if items is None:
        return None
    if not isinstance(items, list):
        raise errors.bad_json(f"{key} must be a list")
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            raise errors.bad_json(f"{key} entries must be objects")
        for field in fields:
            if field not in item:
                raise errors.missing_param(f"Missing param '{field}' in {key}")
            if not isinstance(item[field], str):
                raise errors.bad_json(f"{key}.{field} must be a string")
        out.append((item[fields[0]], item[fields[1]]))
    return out
