"""What the HTTP rate limiter asks of the core on a rate-limited request: a user's
admin-set override of the message rate limit (Synapse's ``override_ratelimit``), and —
with several processes on one database — the token buckets they share.

The lookup is cached per process for :data:`CACHE_TTL_S` seconds (a miss is cached too),
so a rate-limited route costs one query per user per ten seconds, not one per request.
A change made through this process is seen at once (:meth:`RatelimitOverrides.forget`),
by the others within the TTL. The admin API that sets overrides is
:mod:`glia.services.admin.ratelimit`.
"""

from __future__ import annotations

import math

from glia.clock import monotonic, now_ms
from glia.storage import Storage
from glia.storage.ratelimit_overrides import RatelimitOverride

__all__ = ["CACHE_TTL_S", "RatelimitOverride", "RatelimitOverrides", "SharedBuckets"]

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


#: How long an idle shared bucket is kept; deleting one only refills it, and every
#: configured class refills in well under this (3 tokens at 0.17/s take 18 s).
SHARED_BUCKET_IDLE_MS = 3_600_000
_SWEEP_EVERY_MS = 60_000


class SharedBuckets:
    """Token buckets kept in the database (``database.several_processes``), so that a
    burst of N is N across every process rather than N per process. Each check is one
    atomic statement; a process sweeps idle buckets once a minute."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._next_sweep_ms = 0

    async def take(self, limit_class: str, key: str, per_second: float,
                   burst: float) -> int | None:
        """Take one token; None if allowed, else the milliseconds to wait."""
        now = now_ms()
        if now >= self._next_sweep_ms:
            self._next_sweep_ms = now + _SWEEP_EVERY_MS
            await self._storage.ratelimit_buckets.sweep(now - SHARED_BUCKET_IDLE_MS)
        taken = await self._storage.ratelimit_buckets.take(limit_class, key, per_second,
                                                           burst, now)
        if taken.allowed:
            return None
        return max(1, math.ceil((1 - taken.tokens) / per_second * 1000))
