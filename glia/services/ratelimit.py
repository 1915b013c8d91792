"""The lookup the HTTP rate limiter makes on every rate-limited request: a user's
admin-set override of the message rate limit (Synapse's ``override_ratelimit``).

The lookup is cached per process for :data:`CACHE_TTL_S` seconds (a miss is cached too),
so a rate-limited route costs one query per user per ten seconds, not one per request.
A change made through this process is seen at once (:meth:`RatelimitOverrides.forget`),
by the others within the TTL. The admin API that sets overrides is
:mod:`glia.services.admin.ratelimit`.
"""

from __future__ import annotations

from glia.clock import monotonic
from glia.storage import Storage
from glia.storage.ratelimit_overrides import RatelimitOverride

__all__ = ["CACHE_TTL_S", "RatelimitOverride", "RatelimitOverrides"]

CACHE_TTL_S = 10.0
_MAX_CACHED = 50_000


class RatelimitOverrides:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._cache: dict[str, tuple[float, RatelimitOverride | None]] = {}

    async def lookup(self, user_id: str) -> RatelimitOverride | None:
        """The user's override, as of at most :data:`CACHE_TTL_S` seconds ago."""
        now = monotonic()
        cached = self._cache.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        value = await self._storage.ratelimit_overrides.get(user_id)
        if len(self._cache) >= _MAX_CACHED:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
        self._cache[user_id] = (now + CACHE_TTL_S, value)
        return value

    def forget(self, user_id: str) -> None:
        """Drop the cached override of a user whose override just changed."""
        self._cache.pop(user_id, None)
