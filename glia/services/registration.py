"""Creating accounts: the account itself (:meth:`RegistrationService.register`, which
shared-secret registration and application services' users also go through), open
registration with UIA, and guests (and their upgrade to full accounts)."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from glia import errors
from glia.clock import Clock, SystemClock
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import localpart_error, new_device_id, random_string
from glia.services.auth import AuthService, hash_token
from glia.services.threepids import REGISTER as REGISTER_PURPOSE
from glia.services.threepids import ThreepidService
from glia.services.uia import (
    DUMMY,
    EMAIL_IDENTITY,
    REGISTRATION_TOKEN,
    SESSION_LIFETIME_MS,
    DummyAuth,
    EmailIdentityAuth,
    RegistrationTokenAuth,
    StageAuth,
    StageChecker,
    UiaService,
)
from glia.services.user_directory import refresh_local
from glia.storage import Storage


class NewAccount(msgspec.Struct):
    """``POST /register`` (its UIA ``auth`` aside): the account and its first device.
    What a request leaves out comes from the first requests of its UIA session.
    ``refresh_token`` is accepted as the spec allows; this server issues no refresh
    tokens, so the access token simply does not expire."""

    username: str | None = None
    password: str | None = None
    device_id: str | None = None
    initial_device_display_name: str | None = None
    inhibit_login: bool | None = None
    refresh_token: bool = False
    #: A guest's access token: the account to turn into a full one (``username`` must
    #: then be the guest's localpart).
    guest_access_token: str | None = None


class GuestAccount(msgspec.Struct):
    """``POST /register?kind=guest``: only the device's name is taken from the body."""

    initial_device_display_name: str | None = None


class Registered(msgspec.Struct, frozen=True, omit_defaults=True):
    """A new account, as ``/register`` answers: no token and device when login was
    inhibited."""

    user_id: str
    home_server: str
    access_token: str | None = None
    device_id: str | None = None

    def to_json(self, server_name: str) -> dict[str, Any]:
        """As a dict, for callers that still answer dicts (shared-secret registration)."""
        body: dict[str, Any] = msgspec.to_builtins(
            msgspec.structs.replace(self, home_server=server_name))
        return body


class RegistrationService:
    def __init__(
        self, config: Config, storage: Storage, auth: AuthService, uia: UiaService,
        clock: Clock | None = None, threepids: ThreepidService | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        #: Email validation, for the m.login.email.identity stage (when mail is set up).
        self._threepids = threepids
        self._config = config
        self._storage = storage
        self._auth = auth
        self._uia = uia

    def user_id_for(self, localpart: str) -> str:
        return f"@{localpart}:{self._config.server_name}"

    async def check_available(self, localpart: str, app_service: str | None = None) -> str:
        """Validate a requested localpart and that nobody has it (nor an application
        service other than ``app_service`` reserved it); returns the user ID."""
        # A leading underscore is reserved for application services' users.
        checked = f"x{localpart[1:]}" if app_service and localpart.startswith("_") \
            else localpart
        problem = localpart_error(checked)
        if problem is not None:
            raise MatrixError(400, "M_INVALID_USERNAME", problem)
        user_id = self.user_id_for(localpart)
        claimer = self._auth.app_services.claiming_user(user_id)
        if claimer is not None and claimer.id != app_service:
            raise MatrixError(400, "M_EXCLUSIVE",
                              "This user ID is reserved by an application service.")
        if len(user_id) > 255:
            raise MatrixError(
                400, "M_INVALID_USERNAME", "User ID may not be longer than 255 characters"
            )
        if await self._storage.users.exists_case_insensitive(user_id):
            raise MatrixError(400, "M_USER_IN_USE", "User ID already taken.")
        return user_id

    async def register(
        self,
        localpart: str,
        password: str | None,
        *,
        admin: bool = False,
        user_type: str | None = None,
        displayname: str | None = None,
        device_id: str | None = None,
        device_display_name: str | None = None,
        inhibit_login: bool = False,
        token_session: str | None = None,
        app_service: str | None = None,
        password_hash: str | None = None,
    ) -> Registered:
        """Create the account, its profile and (unless inhibited) a first device, atomically.

        ``token_session``: the UIA session that passed the registration-token stage; its
        use of the token is completed in the same transaction. ``password_hash``: the
        password already hashed (instead of ``password``).
        """
        user_id = await self.check_available(localpart, app_service)
        if password:
            password_hash = await self._auth.hash_password(password)
        async with self._storage.transaction() as tx:
            if await tx.users.exists_case_insensitive(user_id):
                raise MatrixError(400, "M_USER_IN_USE", "User ID already taken.")
            now = self._clock.now_ms()
            await tx.users.create(
                user_id, password_hash, admin=admin, user_type=user_type, creation_ts=now
            )
            if self._config.account_validity.enabled:  # expires a period from now
                await tx.account_validity.set_expiration(
                    user_id, now + int(self._config.account_validity.period * 1000), False)
            if token_session is not None and await tx.registration_tokens.complete(
                    token_session, user_id, now) is None:
                # The token was deleted after the stage passed: revoked means revoked.
                raise errors.forbidden("Registration token is no longer valid")
            await tx.profile.create(user_id, displayname if displayname else localpart)
            await refresh_local(tx, user_id)
            if app_service is not None:
                await tx.appservices.set_user_service(user_id, app_service)
            if inhibit_login:
                return Registered(user_id, self._config.server_name)
            device_id = device_id or new_device_id()
            token = await self._auth.issue_token(tx, user_id, device_id, device_display_name)
        return Registered(user_id, self._config.server_name, token, device_id)

    # -- open registration (POST /register) ---------------------------------------

    def flows(self) -> list[list[str]]:
        """The token stage goes first where a token is required, then the stages of
        the flow without it (Synapse's flows: a client finishes with ``m.login.dummy``,
        or proves an email address where email is set up)."""
        first = [REGISTRATION_TOKEN] if self._config.registration.require_token else []
        flows = [[*first, DUMMY]]
        if self._threepids is not None and self._threepids.email_enabled:
            flows.append([*first, EMAIL_IDENTITY])  # registering with an email address
        return flows

    async def _check_registration_token(self, auth: RegistrationTokenAuth) -> None:
        """The ``m.login.registration_token`` stage: take one use of the token for this
        UIA session (it shows as ``pending`` until the account exists).

        Failures are 401s, so they come back inside the UIA response the way Synapse
        sends them, and the client can try another token in the same session.
        """
        token = auth.token
        if token is msgspec.UNSET:
            raise MatrixError(401, "M_MISSING_PARAM", "Missing registration token")
        if not isinstance(token, str):
            raise MatrixError(401, "M_INVALID_PARAM", "Registration token must be a string")
        session_id = auth.session
        if not session_id:
            raise MatrixError(401, "M_MISSING_PARAM", "Missing UIA session")
        now = self._clock.now_ms()
        await release_stale_token_uses(self._storage, now)
        async with self._storage.transaction() as tx:
            held = await tx.registration_tokens.reserve(token, session_id, now)
        if held is None:
            raise MatrixError(401, "M_UNAUTHORIZED", "Invalid registration token")
        if held != token:
            raise MatrixError(401, "M_INVALID_PARAM", "Registration token has changed")

    async def registration_token_valid(self, token: str | None) -> bool:
        """``GET /register/m.login.registration_token/validity``: a point-in-time answer
        that takes nothing. Checks run in Synapse's order (disabled before missing)."""
        if not self._config.registration.enabled:
            raise errors.forbidden("Registration has been disabled")
        if token is None:
            raise errors.missing_param("Missing string query parameter 'token'")
        now = self._clock.now_ms()
        await release_stale_token_uses(self._storage, now)
        return await self._storage.registration_tokens.is_valid(token, now)

    async def register_with_uia(self, account: NewAccount,
                                auth: StageAuth | None) -> Registered:
        """``POST /register``. The first request of a UIA session fixes the username
        (none: one is generated when the account is made), password, device and
        ``inhibit_login``; later requests may leave them out, and may not change the
        username."""
        if not self._config.registration.enabled:
            raise errors.forbidden("Registration has been disabled")
        session = auth.session if auth is not None else None
        wanted = await self._uia.remembered(session)
        if account.guest_access_token is not None:
            wanted["guest"] = await self._guest_to_upgrade(account.guest_access_token,
                                                           account.username)
        if account.username:
            localpart = account.username.lower()
            if wanted.get("username") not in (None, localpart):
                raise errors.forbidden("Requested operation has changed during the UI"
                                       " authentication session.")
            if wanted.get("guest") is None:
                await self.check_available(localpart)
            wanted["username"] = localpart
        if account.password is not None:
            password = self._auth.validate_new_password(account.password)
            wanted["password_hash"] = await self._auth.hash_password(password)
        for name in ("device_id", "initial_device_display_name", "inhibit_login"):
            if (value := getattr(account, name)) is not None:
                wanted[name] = value

        async def dummy(_: DummyAuth) -> None:
            return None

        checkers: dict[str, StageChecker] = {
            DUMMY: dummy, REGISTRATION_TOKEN: self._check_registration_token}
        if self._threepids is not None:
            checkers[EMAIL_IDENTITY] = self._threepids.email_stage(REGISTER_PURPOSE)
        await self._uia.authenticate(
            auth, scope="register", flows=self.flows(), remember=wanted, checkers=checkers)
        # The email stage ends its flow, so a passed one is this request's own.
        email = await self._threepids.proven_by(auth, REGISTER_PURPOSE) \
            if self._threepids is not None and isinstance(auth, EmailIdentityAuth) else None
        token_session = None
        if self._config.registration.require_token:
            # The token stage (which insists on a session) is part of every flow.
            assert auth is not None and auth.session is not None
            token_session = auth.session
        try:
            if wanted.get("password_hash") is None:
                raise errors.missing_param("Missing params: password")
            if wanted.get("guest") is not None:
                return await self._upgrade_guest(wanted)
            registered = await self.register(
                wanted.get("username") or await self._generate_localpart(), None,
                password_hash=wanted["password_hash"], device_id=wanted.get("device_id"),
                device_display_name=wanted.get("initial_device_display_name"),
                inhibit_login=bool(wanted.get("inhibit_login")),
                token_session=token_session,
            )
        except Exception:
            if token_session is not None:
                # No account came of it: the use goes back to the token at once.
                async with self._storage.transaction() as tx:
                    await tx.registration_tokens.release(token_session)
            raise
        if email is not None and self._threepids is not None:
            await self._threepids.add_registered(registered.user_id, email)
        return registered

    # -- guests ----------------------------------------------------------------------

    async def register_guest(self, account: GuestAccount) -> Registered:
        """``POST /register?kind=guest``: a guest account with a numeric localpart (the
        localparts no one else may register) and a first device."""
        if not self._config.registration.allow_guest_access:
            raise MatrixError(403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access is disabled")
        while True:
            localpart = str(secrets.randbelow(9 * 10**11) + 10**11)
            user_id = self.user_id_for(localpart)
            if not await self._storage.users.exists_case_insensitive(user_id):
                break
        device_id = new_device_id()
        async with self._storage.transaction() as tx:
            await tx.users.create(user_id, None, admin=False, user_type=None,
                                  creation_ts=self._clock.now_ms(), is_guest=True)
            await tx.profile.create(user_id, None)
            token = await self._auth.issue_token(tx, user_id, device_id,
                                                 account.initial_device_display_name)
        return Registered(user_id, self._config.server_name, token, device_id)

    async def _guest_to_upgrade(self, guest_token: str, username: str | None) -> str:
        """The guest account a ``guest_access_token`` names, which ``username`` must be
        (Synapse's rule and message)."""
        owner = await self._storage.devices.token_owner(hash_token(guest_token))
        if owner is None or not owner.is_guest or owner.deactivated or not username \
                or self.user_id_for(username.lower()) != owner.user_id:
            raise errors.forbidden("Cannot register taken user ID without valid guest"
                                   " credentials for that user.")
        return owner.user_id

    async def _upgrade_guest(self, wanted: dict[str, Any]) -> Registered:
        """The guest becomes a full account with the password; it keeps its rooms and
        devices, and gets a new device unless login is inhibited."""
        user_id = wanted["guest"]
        async with self._storage.transaction() as tx:
            if not await tx.users.upgrade_guest(user_id, wanted["password_hash"]):
                raise errors.forbidden("Cannot register taken user ID without valid guest"
                                       " credentials for that user.")
            if wanted.get("inhibit_login"):
                return Registered(user_id, self._config.server_name)
            device_id = wanted.get("device_id") or new_device_id()
            token = await self._auth.issue_token(
                tx, user_id, device_id, wanted.get("initial_device_display_name"))
        return Registered(user_id, self._config.server_name, token, device_id)

    async def _generate_localpart(self) -> str:
        while True:
            candidate = "u" + random_string(11).lower()
            if not await self._storage.users.exists_case_insensitive(self.user_id_for(candidate)):
                return candidate


async def release_stale_token_uses(storage: Storage, now: int) -> None:
    """Give back token uses held by registrations that can no longer finish (their UIA
    session expired: a crash mid-request, an abandoned flow), so they stop counting as
    ``pending`` and stop blocking a token's last uses."""
    before = now - SESSION_LIFETIME_MS
    if not await storage.registration_tokens.has_stale(before):
        return
    async with storage.transaction() as tx:
        await tx.registration_tokens.release_stale(before)
