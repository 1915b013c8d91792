"""Token-bucket rate limiting per (class, caller), answered with ``429 M_LIMIT_EXCEEDED``.

Buckets live in this process's memory (the fast path), unless several processes share
the database (``database.several_processes``): then every check goes to the shared
buckets in the database (:class:`glia.services.ratelimit.SharedBuckets`), so a burst of
N is N across all processes, not N per process.

A user's admin-set override (Synapse's ``override_ratelimit``) replaces the ``message``
class's rate and burst for them; an override with a rate of 0 exempts them from every
class (the usual setting for bots), as in Synapse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from glia import errors
from glia.clock import Clock, SystemClock
from glia.config_sections import RateLimitConfig
from glia.services.ratelimit import RatelimitOverride, SharedBuckets

_MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float
    per_second: float
    burst: float


class RateLimiter:
    def __init__(self, config: RateLimitConfig, clock: Clock | None = None,
                 shared: SharedBuckets | None = None) -> None:
        self._config = config
        self._clock = clock or SystemClock()
        self._shared = shared
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self._config.enabled

    async def enforce(self, limit_class: str, key: str,
                      override: RatelimitOverride | None = None) -> None:
        """The server's check: the shared buckets when several processes share the
        database, else this process's (:meth:`check`)."""
        if self._shared is None:
            self.check(limit_class, key, override)
            return
        limits = self._limits(limit_class, override)
        if limits is not None:
            wait_ms = await self._shared.take(limit_class, key, *limits)
            if wait_ms is not None:
                raise errors.limit_exceeded(wait_ms)

    def _limits(self, limit_class: str, override: RatelimitOverride | None
                ) -> tuple[float, float] | None:
        """(per_second, burst) for the class and caller; None if not limited."""
        if not self._config.enabled:
            return None
        if override is not None and override.messages_per_second == 0:
            return None
        settings = getattr(self._config, limit_class)
        per_second, burst = float(settings.per_second), float(settings.burst)
        if override is not None and limit_class == "message":
            # A burst below one would refuse every message; a rate with no burst
            # means one at a time.
            per_second = float(override.messages_per_second)
            burst = float(max(1, override.burst_count))
        return per_second, burst

    def check(self, limit_class: str, key: str,
              override: RatelimitOverride | None = None) -> None:
        """Take one token for ``key`` from this process's buckets or raise ``429`` with
        how long to wait. ``override``: the requesting user's override, if they have
        one."""
        limits = self._limits(limit_class, override)
        if limits is None:
            return
        per_second, burst = limits
        now = self._clock.monotonic()
        bucket = self._buckets.get((limit_class, key))
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._prune(now)
            bucket = self._buckets[(limit_class, key)] = _Bucket(burst, now, per_second,
                                                                 burst)
        else:
            refill = (now - bucket.updated) * per_second
            bucket.tokens = min(burst, bucket.tokens + refill)
            bucket.updated = now
            bucket.per_second, bucket.burst = per_second, burst
        if bucket.tokens < 1:
            wait_s = (1 - bucket.tokens) / per_second
            raise errors.limit_exceeded(math.ceil(wait_s * 1000))
        bucket.tokens -= 1

    def _prune(self, now: float) -> None:
        """Drop buckets that have refilled anyway, so memory stays bounded."""
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * bucket.per_second >= bucket.burst:
                del self._buckets[key]
