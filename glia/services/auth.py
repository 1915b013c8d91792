"""Who is calling: access tokens, passwords, and the per-request requester.

Tokens are random strings given to the client once; only their SHA-256 is stored.
bcrypt runs on worker threads because a hash takes ~200 ms of CPU at cost 12, which
would otherwise stall every other request on the event loop. Those threads are a pool of
their own, one per core (more cannot hash faster): on the default pool a burst of
registrations or logins queued ahead of everything else that needs a thread (media
files), and stalled it for as long as the burst took to hash.

bcrypt reads at most 72 bytes of a password. The bcrypt releases Synapse's hashes were
made with ignored the rest silently; bcrypt 5 refuses longer input instead. Glia hashes and
checks the first 72 bytes of the UTF-8 password, exactly what those releases did, so
imported Synapse hashes keep verifying (and, as there, two passwords that share their
first 72 bytes are the same password).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import bcrypt

from glia import errors
from glia.clock import Clock, SystemClock
from glia.config import Config
from glia.errors import MatrixError
from glia.services.appservices.registrations import AppService, AppServices
from glia.storage import Storage, Stores

#: (tx, user_id) → runs in the transaction that creates a device of the user.
DeviceAdded = Callable[[Stores, str], Awaitable[None]]


@dataclass(frozen=True)
class Requester:
    """The authenticated caller of a request."""

    user_id: str
    device_id: str
    is_admin: bool
    is_guest: bool
    token_hash: str
    #: The application service acting (with its ``as_token``), if one is.
    app_service: str | None = None
    #: Whether the rate limits apply (not to application services, unless they asked).
    ratelimited: bool = True


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


#: The most bytes of a password that bcrypt reads.
BCRYPT_MAX_BYTES = 72


def _bcrypt_input(password: str) -> bytes:
    return password.encode()[:BCRYPT_MAX_BYTES]


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def new_access_token() -> str:
    return "glia_" + secrets.token_urlsafe(30)


#: A device's last-seen time and address are written at most this often per token and IP.
SEEN_INTERVAL_MS = 60_000
_SEEN_CACHE_LIMIT = 100_000


class AuthService:
    def __init__(self, config: Config, storage: Storage, clock: Clock | None = None,
                 app_services: AppServices | None = None,
                 device_added: DeviceAdded | None = None) -> None:
        """``device_added`` runs in the transaction that creates a device (device-list
        tracking)."""
        self._device_added = device_added
        self._clock = clock or SystemClock()
        self.app_services = app_services or AppServices([])
        self._config = config
        self._storage = storage
        self._last_recorded: dict[tuple[str, str | None], int] = {}
        self._hashing = ThreadPoolExecutor(_usable_cores(), thread_name_prefix="bcrypt")

    def shared_secret(self) -> str:
        """The registration shared secret that ``Auth.SHARED_SECRET`` routes are signed
        with; 400 when none is configured (Synapse refuses before it reads the body)."""
        secret = self._config.registration.shared_secret
        if not secret:
            raise errors.unknown("Shared secret registration is not enabled")
        return secret

    def app_service(self, token: str) -> AppService | None:
        """The application service whose ``as_token`` this is, if any."""
        return self.app_services.by_token(token)

    def app_service_requester(self, token: str) -> Requester | None:
        """For ``/register`` and ``/login``: the application service itself, as its
        sender (the users it names there may not exist yet), or None for any other
        token, which those routes ignore."""
        service = self.app_service(token)
        if service is None:
            return None
        return Requester(service.sender, "", False, False, hash_token(token),
                         app_service=service.id, ratelimited=False)

    async def authenticate(self, token: str, ip: str | None = None,
                           user_agent: str | None = None, allow_expired: bool = False,
                           *, as_user_id: str | None = None,
                           as_device_id: str | None = None) -> Requester:
        """The caller of a token: a user's access token, or an application service's
        ``as_token`` acting as ``as_user_id`` (default: its sender) on ``as_device_id``.
        ``allow_expired`` lets an expired account through (logout, as Synapse); every
        other route refuses it here, once, for all handlers."""
        service = self.app_service(token)
        if service is not None:
            return await self._masquerade(service, token, as_user_id, as_device_id)
        token_hash = hash_token(token)
        owner = await self._storage.devices.token_owner(token_hash)
        if owner is None or owner.deactivated:
            raise errors.unknown_token()
        if owner.locked:
            raise MatrixError(
                401, "M_USER_LOCKED", "User account has been locked", soft_logout=True
            )
        if not owner.minter_in_good_standing:
            # An impersonation token is the admin's power lent out: once the admin lost it
            # (demoted, locked, suspended, deactivated) the token is void for good, even if
            # the power comes back, so it is deleted rather than merely refused.
            await self._storage.devices.delete_token(token_hash)
            raise errors.unknown_token()
        if owner.valid_until_ms is not None and owner.valid_until_ms <= self._clock.now_ms():
            raise MatrixError(401, "M_UNKNOWN_TOKEN", "Access token has expired",
                              soft_logout=True)
        if (self._config.account_validity.enabled and not allow_expired
                and owner.account_expires_ms is not None
                and owner.account_expires_ms <= self._clock.now_ms()):
            raise MatrixError(403, "M_EXPIRED_ACCOUNT", "User account has expired")
        if owner.puppeted_by is None:  # an admin acting as the user leaves no trace in whois
            await self._record_seen(token_hash, owner.user_id, owner.device_id, ip, user_agent)
        return Requester(owner.user_id, owner.device_id, owner.admin, owner.is_guest, token_hash)

    async def _masquerade(self, service: AppService, token: str, user_id: str | None,
                          device_id: str | None) -> Requester:
        """Identity assertion: an application service acts as one of its users."""
        user_id = user_id or service.sender
        if not service.owns_user(user_id):
            raise errors.forbidden(
                f"Application service cannot masquerade as this user ({user_id}).")
        user = await self._storage.users.get(user_id)
        if user is None:
            raise errors.forbidden(
                f"Application service has not registered this user ({user_id}).")
        if device_id and await self._storage.devices.get(user_id, device_id) is None:
            raise MatrixError(400, "M_UNKNOWN_DEVICE",
                              f"Device {device_id} is not known to belong to {user_id}")
        # The sender is never rate limited; its users are when the registration says so.
        ratelimited = service.rate_limited and user_id != service.sender
        return Requester(user_id, device_id or "", user.admin, False, hash_token(token),
                         app_service=service.id, ratelimited=ratelimited)

    async def _record_seen(self, token_hash: str, user_id: str, device_id: str,
                           ip: str | None, user_agent: str | None) -> None:
        """Keep last-seen data (whois, device lists, admin user lists) fresh, cheaply:
        one write per token and address per minute, not one per request."""
        now = self._clock.now_ms()
        key = (token_hash, ip)
        if now - self._last_recorded.get(key, 0) < SEEN_INTERVAL_MS:
            return
        if len(self._last_recorded) >= _SEEN_CACHE_LIMIT:
            self._last_recorded.clear()
        self._last_recorded[key] = now
        await self._storage.devices.record_seen(user_id, device_id, now, ip, user_agent,
                                                token_hash=token_hash)

    async def issue_token(
        self, stores: Stores, user_id: str, device_id: str, display_name: str | None
    ) -> str:
        """Create (or reuse) the device and a fresh token for it, in the caller's transaction."""
        now = self._clock.now_ms()
        new = await stores.devices.get(user_id, device_id) is None
        await stores.devices.upsert(user_id, device_id, display_name, now)
        if new and self._device_added is not None:
            await self._device_added(stores, user_id)
        token = new_access_token()
        await stores.devices.add_token(hash_token(token), user_id, device_id, now)
        return token

    def _too_long(self, password: str) -> bool:
        return len(password) > self._config.password.maximum_length

    async def hash_password(self, password: str) -> str:
        """The bcrypt hash of a new password; ``400`` past ``password.maximum_length``."""
        if self._too_long(password):
            raise errors.invalid_param(self._too_long_message())
        rounds = self._config.password.bcrypt_rounds
        hashed = await asyncio.get_running_loop().run_in_executor(
            self._hashing, bcrypt.hashpw, _bcrypt_input(password), bcrypt.gensalt(rounds)
        )
        return hashed.decode()

    async def check_password(self, password: str, password_hash: str | None) -> bool:
        """Whether ``password`` matches; a password past the maximum never does (no
        password that long could have been set, so it is not worth a hash)."""
        if not password_hash or self._too_long(password):
            return False
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._hashing, bcrypt.checkpw, _bcrypt_input(password),
                password_hash.encode()
            )
        except ValueError:  # not a bcrypt hash (e.g. imported from elsewhere)
            return False

    def validate_new_password(self, password: object) -> str:
        """The password policy for new passwords (type, length, no NUL byte)."""
        if not isinstance(password, str):
            raise errors.bad_json("password must be a string")
        if self._too_long(password):
            raise errors.invalid_param(self._too_long_message())
        if "\x00" in password:
            raise errors.invalid_param("Invalid password")
        if len(password) < self._config.password.minimum_length:
            raise MatrixError(400, "M_PASSWORD_TOO_SHORT", "Password is too short")
        return password

    def _too_long_message(self) -> str:
        return (f"Password is too long (at most {self._config.password.maximum_length}"
                " characters)")
