"""Per-account limiting of wrong passwords, shared by every process through storage.

The per-address login limit does nothing against an attacker who rotates addresses, so
each account also has a token bucket of failed attempts (``ratelimit.failed_login``):
every password check takes a token *before* bcrypt runs (so parallel guesses all count),
and the check that empties the bucket starts a back-off that doubles with every further
failure. During a back-off every check of that account's password — right or wrong,
login or UIA stage — answers ``429 M_LIMIT_EXCEEDED`` with the wait. A right password
resets the account; an account left alone for ``max_backoff`` starts afresh.
"""

from __future__ import annotations

import math

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.storage import Storage
from glia.storage.failed_logins import FailedLoginState

#: Compare-and-swap rounds before giving up on a contended account (an attack anyway).
_CAS_ATTEMPTS = 8


class LoginAttempts:
    def __init__(self, config: Config, storage: Storage) -> None:
        self._ratelimit = config.ratelimit
        self._storage = storage

    async def begin(self, user_id: str) -> None:
        """Count one password check for the account, or raise ``429`` while it is held."""
        if not self._ratelimit.enabled:
            return
        store = self._storage.failed_logins
        key = _key(user_id)
        for _ in range(_CAS_ATTEMPTS):
            now = now_ms()
            row = await store.get(key)
            live = row if row is not None and row.expires_ms > now else None
            if live is not None and now < live.blocked_until_ms:
                raise errors.limit_exceeded(live.blocked_until_ms - now)
            state = self._take(live, now, version=(row.version if row else 0) + 1)
            if row is None:
                await store.sweep(now)
                if await store.insert(key, state):
                    return
            elif await store.replace(key, state, row.version):
                return
        raise errors.limit_exceeded(1000)

    async def succeeded(self, user_id: str) -> None:
        """The right password was given: the account's failures are forgiven."""
        if self._ratelimit.enabled:
            await self._storage.failed_logins.delete(_key(user_id))

    def _take(self, current: FailedLoginState | None, now: int,
              version: int) -> FailedLoginState:
        """The state after one more check: a token taken, and a hold if none is left."""
        limits = self._ratelimit.failed_login
        max_backoff_ms = math.ceil(limits.max_backoff * 1000)
        if current is None:
            tokens, strikes = float(limits.burst), 0
        else:
            refill = (now - current.updated_ms) / 1000 * limits.per_second
            tokens = min(float(limits.burst), current.tokens + refill)
            strikes = current.strikes
        tokens -= 1
        blocked_until, updated = 0, now
        if tokens < 1:
            # The bucket is empty: hold the account, longer each time, and let it refill
            # only from the end of the hold, with one attempt waiting there.
            strikes += 1
            backoff_ms = min(max_backoff_ms,
                             math.ceil(1000 / limits.per_second * 2 ** min(strikes - 1, 40)))
            blocked_until = updated = now + backoff_ms
            tokens = 1.0
        return FailedLoginState(tokens, updated, strikes, blocked_until,
                                max(blocked_until, now) + max_backoff_ms, version)


def _key(user_id: str) -> str:
    """Case variants of a name find the same account at login, so they share a bucket."""
    return user_id.lower()
