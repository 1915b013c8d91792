"""Token-bucket rate limiting per (class, caller), answered with ``429 M_LIMIT_EXCEEDED``.

Buckets are per process: with several processes the effective limit is the configured
one times the number of processes, which is acceptable for abuse protection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from glia import errors
from glia.clock import monotonic
from glia.config import RateLimitConfig

_MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, config: RateLimitConfig) -> None:
        self._config = config
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def check(self, limit_class: str, key: str) -> None:
        """Take one token for ``key`` or raise ``429`` with how long to wait."""
        if not self._config.enabled:
            return
        settings = getattr(self._config, limit_class)
        now = monotonic()
        bucket = self._buckets.get((limit_class, key))
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._prune(now)
            bucket = self._buckets[(limit_class, key)] = _Bucket(settings.burst, now)
        else:
            refill = (now - bucket.updated) * settings.per_second
            bucket.tokens = min(settings.burst, bucket.tokens + refill)
            bucket.updated = now
        if bucket.tokens < 1:
            wait_s = (1 - bucket.tokens) / settings.per_second
            raise errors.limit_exceeded(math.ceil(wait_s * 1000))
        bucket.tokens -= 1

    def _prune(self, now: float) -> None:
        """Drop buckets that have refilled anyway, so memory stays bounded."""
        for key, bucket in list(self._buckets.items()):
            settings = getattr(self._config, key[0])
            if bucket.tokens + (now - bucket.updated) * settings.per_second >= settings.burst:
                del self._buckets[key]
