"""Shared-secret registration, ``/_synapse/admin/v1/register``: how an operator creates
accounts with ``register_new_matrix_user`` (or ``glia register-user``) whether or not
open registration is enabled.

It is its own module because it shares nothing with ``/register`` but the account
creation itself (:meth:`RegistrationService.register`): it has its own nonces, its own
MAC and Synapse's own order of checks and messages."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import msgspec

from glia import errors
from glia.clock import Clock
from glia.errors import MatrixError
from glia.services.auth import AuthService
from glia.services.registration import Registered, RegistrationService
from glia.storage import Storage

NONCE_LIFETIME_MS = 60_000
KNOWN_USER_TYPES = ("bot", "support")


class SharedSecretRegistration(msgspec.Struct):
    """``POST /_synapse/admin/v1/register`` (what ``register_new_matrix_user`` sends).

    Synapse uses up the nonce before it looks at any other field, then checks username,
    password, user type, MAC and ``refresh_token`` in turn with messages of its own
    (400 ``M_UNKNOWN`` "Invalid username" for a username that is not a string, the
    ``admin`` flag taken for its truthiness). Those fields therefore take any JSON value
    here and :meth:`SharedSecretRegistrationService.register` checks them in Synapse's
    order; the fields Synapse does not check itself are typed."""

    nonce: str | None = None
    username: Any = None
    password: Any = None
    mac: str | None = None
    admin: Any = False
    user_type: Any = None
    refresh_token: Any = False
    displayname: str | None = None
    device_id: str | None = None
    initial_device_display_name: str | None = None
    inhibit_login: bool = False


class SharedSecretRegistrationService:
    def __init__(self, storage: Storage, auth: AuthService,
                 registration: RegistrationService, clock: Clock) -> None:
        self._storage = storage
        self._auth = auth
        self._registration = registration
        self._clock = clock

    async def new_nonce(self) -> str:
        """``GET /_synapse/admin/v1/register``: a nonce good for one registration within
        a minute (older ones are swept as new ones are handed out)."""
        now = self._clock.now_ms()
        nonce = secrets.token_hex(64)
        await self._storage.registration.sweep_nonces(now - NONCE_LIFETIME_MS)
        await self._storage.registration.add_nonce(nonce, now)
        return nonce

    async def register(self, body: SharedSecretRegistration) -> Registered:
        """``POST /_synapse/admin/v1/register``, with Synapse's checks in Synapse's order:
        the nonce is used up as soon as it is recognised, so every later failure (a bad
        username, a wrong MAC) costs the caller their nonce."""
        secret = self._auth.shared_secret()
        nonce = body.nonce
        if not nonce:
            raise errors.bad_json("nonce must be specified")
        if not await self._storage.registration.take_nonce(
                nonce, self._clock.now_ms() - NONCE_LIFETIME_MS):
            raise errors.unknown("unrecognised nonce")
        username = body.username
        if username is None or username == "":
            raise errors.bad_json("username must be specified")
        if not isinstance(username, str) or len(username) > 512 or "\x00" in username:
            raise errors.unknown("Invalid username")
        password = body.password
        if password is None or password == "":
            raise errors.bad_json("password must be specified")
        if not isinstance(password, str) or len(password) > 512 or "\x00" in password:
            raise errors.unknown("Invalid password")
        user_type = body.user_type
        if user_type is not None and user_type not in KNOWN_USER_TYPES:
            raise errors.unknown("Invalid user type")
        if not body.mac:
            raise errors.bad_json("mac must be specified")
        admin = bool(body.admin)
        expected = registration_mac(secret, nonce, username, password, admin, user_type)
        if not hmac.compare_digest(expected.encode(), body.mac.encode()):
            raise MatrixError(403, "M_UNKNOWN", "HMAC incorrect")
        if not isinstance(body.refresh_token, bool):
            raise errors.unknown("refresh_token must be a boolean")
        return await self._registration.register(
            username.lower(), password, admin=admin, user_type=user_type,
            displayname=body.displayname, device_id=body.device_id,
            device_display_name=body.initial_device_display_name,
            inhibit_login=body.inhibit_login,
        )


def registration_mac(
    secret: str, nonce: str, username: str, password: str, admin: bool, user_type: str | None
) -> str:
    """HMAC-SHA1 over ``nonce\\0username\\0password\\0admin|notadmin[\\0user_type]``."""
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(f"{nonce}\x00{username}\x00{password}\x00".encode())
    mac.update(b"admin" if admin else b"notadmin")
    if user_type:
        mac.update(b"\x00" + user_type.encode())
    return mac.hexdigest()
