"""Logging in and out: password login creates a device and a token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import InvalidId, new_device_id, parse_user_id
from glia.protocol.threepids import canonical_address
from glia.services.auth import AuthService, Requester
from glia.services.device_removal import DeviceRemoval
from glia.services.login_attempts import LoginAttempts
from glia.services.uia import UserIdentifier
from glia.storage import Storage

PASSWORD_LOGIN = "m.login.password"
#: An application service logging in as one of its users (its ``as_token`` is the auth).
APPSERVICE_LOGIN = "m.login.application_service"


class LoginType(msgspec.Struct):
    """What every ``POST /login`` body has: its type, which decides the rest."""

    type: str


class PasswordLogin(msgspec.Struct):
    """``m.login.password``: the user (``identifier``, or the legacy ``user`` or
    ``medium`` and ``address``), the password, and the device to create or reuse."""

    password: str
    identifier: UserIdentifier | None = None
    user: str | None = None
    medium: str | None = None
    address: str | None = None
    device_id: str | None = None
    initial_device_display_name: str | None = None
    #: Accepted as the spec allows; this server issues no refresh tokens, so a client
    #: asking for one gets a non-expiring access token, as the spec says it may.
    refresh_token: bool = False


class AppServiceLogin(msgspec.Struct):
    """``m.login.application_service``: which of the service's users, and the device."""

    identifier: UserIdentifier | None = None
    user: str | None = None
    device_id: str | None = None
    initial_device_display_name: str | None = None
    refresh_token: bool = False


#: The request model of each login type this server supports.
LOGIN_TYPES: dict[str, type[PasswordLogin] | type[AppServiceLogin]] = {
    PASSWORD_LOGIN: PasswordLogin, APPSERVICE_LOGIN: AppServiceLogin}


class LoginFlow(msgspec.Struct, frozen=True):
    """One way to log in that ``GET /login`` offers."""

    type: str


@dataclass(frozen=True)
class LoggedIn:
    user_id: str
    device_id: str
    access_token: str


class LoginService:
    def __init__(self, config: Config, storage: Storage, auth: AuthService,
                 device_removal: DeviceRemoval, attempts: LoginAttempts) -> None:
        self._config = config
        self._attempts = attempts
        self._storage = storage
        self._auth = auth
        self._device_removal = device_removal

    def flows(self) -> list[LoginFlow]:
        return [LoginFlow(PASSWORD_LOGIN), LoginFlow(APPSERVICE_LOGIN)]

    @staticmethod
    def login_model(login_type: str) -> type[PasswordLogin] | type[AppServiceLogin]:
        """The request model of a login type (``400 M_UNKNOWN`` for one not supported,
        as Synapse answers)."""
        model = LOGIN_TYPES.get(login_type)
        if model is None:
            raise MatrixError(400, "M_UNKNOWN", "Unknown login type")
        return model

    async def user_id_of(self, identifier: UserIdentifier | None, user: str | None,
                         medium: str | None = None, address: str | None = None) -> str:
        """The user ID a login (or UIA password stage) names: ``m.id.user`` (or the
        legacy ``user``) by name; ``m.id.thirdparty`` (or the legacy top-level ``medium``
        and ``address``, as Synapse reads them) by the account that has that 3PID.
        ``m.id.phone`` is refused as unknown: phone numbers would need canonicalising by
        country, and this server cannot validate any."""
        if identifier is None and user is None and medium is not None and \
                address is not None:
            identifier = UserIdentifier("m.id.thirdparty", medium=medium, address=address)
        if identifier is not None and identifier.type == "m.id.thirdparty":
            return await self._owner_of(identifier.medium, identifier.address)
        return self._user_id_from_identifier(identifier, user)

    async def _owner_of(self, medium: str | None, address: str | None) -> str:
        """The account with this 3PID; an unknown one is ``403``, as the spec says, with
        the wrong-password message so that addresses cannot be probed."""
        if medium is None:
            raise errors.missing_param("Missing param: identifier.medium")
        if address is None:
            raise errors.missing_param("Missing param: identifier.address")
        owner = await self._storage.threepids.owner(medium, canonical_address(medium, address))
        if owner is None:
            raise errors.forbidden("Invalid username or password")
        return owner

    def _user_id_from_identifier(self, identifier: UserIdentifier | None,
                                 user: str | None) -> str:
        """The user ID of an ``m.id.user`` identifier or the legacy ``user``."""
        if identifier is not None:
            if identifier.type != "m.id.user":
                raise MatrixError(400, "M_UNKNOWN", "Unknown login identifier type")
            user = identifier.user
        if user is None or user == "":
            raise errors.missing_param("Missing param: identifier.user")
        if not user.startswith("@"):
            return f"@{user.lower()}:{self._config.server_name}"
        try:
            parse_user_id(user)
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        return user

    async def check_password_of(self, user_id: str, password: str | None) -> None:
        """Raise ``403 M_FORBIDDEN`` unless ``password`` is this user's password."""
        if password is None:
            raise errors.missing_param("Missing param: password")
        await self._attempts.begin(user_id)
        user = await self._storage.users.get(user_id)
        if user is None:
            user = await self._find_case_insensitive(user_id)
        if user is None or not await self._auth.check_password(password, user.password_hash):
            raise errors.forbidden("Invalid username or password")
        await self._attempts.succeeded(user_id)

    async def _find_case_insensitive(self, user_id: str) -> Any:
        if await self._storage.users.exists_case_insensitive(user_id):
            return await self._storage.users.get(user_id.lower())
        return None

    async def login(self, command: PasswordLogin) -> LoggedIn:
        user_id = await self.user_id_of(command.identifier, command.user, command.medium,
                                        command.address)
        password, device_id = command.password, command.device_id
        if device_id == "":
            raise errors.bad_json("device_id must be a non-empty string")
        display_name = command.initial_device_display_name
        await self._attempts.begin(user_id)
        user = await self._storage.users.get(user_id) or await self._find_case_insensitive(user_id)
        if user is not None and user.deactivated and not user.password_hash:
            # Deactivation removes the password; say why the login fails, as Synapse does.
            raise MatrixError(403, "M_USER_DEACTIVATED", "This account has been deactivated")
        if user is None or not await self._auth.check_password(password, user.password_hash):
            raise errors.forbidden("Invalid username or password")
        await self._attempts.succeeded(user_id)
        if user.deactivated:
            raise MatrixError(403, "M_USER_DEACTIVATED", "This account has been deactivated")
        if user.locked:
            raise MatrixError(401, "M_USER_LOCKED", "User account has been locked")
        device_id = device_id or new_device_id()
        async with self._storage.transaction() as tx:
            token = await self._auth.issue_token(tx, user.user_id, device_id, display_name)
        return LoggedIn(user.user_id, device_id, token)

    async def login_app_service(self, requester: Requester | None,
                                command: AppServiceLogin) -> LoggedIn:
        """A new device and token for one of the calling application service's users
        (no password: the ``as_token`` vouches)."""
        if requester is None or requester.app_service is None:
            raise errors.missing_token("This login type needs an application service's"
                                       " token")
        service = self._auth.app_services.by_id(requester.app_service)
        user_id = self._user_id_from_identifier(command.identifier, command.user)
        if service is None or not service.owns_user(user_id):
            raise MatrixError(400, "M_EXCLUSIVE",
                              "This user is not in the application service's namespace")
        user = await self._storage.users.get(user_id)
        if user is None:
            raise errors.forbidden("Invalid username or password")
        if user.deactivated:
            raise MatrixError(403, "M_USER_DEACTIVATED", "This account has been deactivated")
        if command.device_id == "":
            raise errors.bad_json("device_id must be a non-empty string")
        device_id = command.device_id or new_device_id()
        async with self._storage.transaction() as tx:
            token = await self._auth.issue_token(tx, user_id, device_id,
                                                 command.initial_device_display_name)
        return LoggedIn(user_id, device_id, token)

    async def logout(self, requester: Requester) -> None:
        """End this session: its device (and so every token of it) is deleted."""
        async with self._storage.transaction() as tx:
            await self._device_removal.before_delete(tx, requester.user_id,
                                                     [requester.device_id])
            await tx.devices.delete(requester.user_id, requester.device_id)

    async def logout_all(self, requester: Requester) -> None:
        async with self._storage.transaction() as tx:
            await self._device_removal.before_delete(tx, requester.user_id)
            await tx.devices.delete_all_for_user(requester.user_id)
