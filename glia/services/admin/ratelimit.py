"""Per-user rate-limit overrides: Synapse's ``/v1/users/{userId}/override_ratelimit``,
and the lookup the HTTP rate limiter makes on every rate-limited request.

The lookup is cached per process for :data:`CACHE_TTL_S` seconds (a miss is cached too),
so a rate-limited route costs one query per user per ten seconds, not one per request.
A change made here is seen at once by this process and within the TTL by the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.clock import monotonic
from glia.config import Config
from glia.services.audit import AuditEntry, AuditService
from glia.services.targets import existing_local_user
from glia.storage import Storage
from glia.storage.ratelimit_overrides import RatelimitOverride

__all__ = ["CACHE_TTL_S", "RatelimitOverride", "RatelimitOverrideService"]

CACHE_TTL_S = 10.0
_MAX_CACHED = 50_000
#: The largest integer every JSON parser reads exactly.
_MAX_VALUE = 2**53 - 1


class RatelimitOverrideService:
    def __init__(self, config: Config, storage: Storage, audit: AuditService) -> None:
        self._server_name = config.server_name
        self._storage = storage
        self._audit = audit
        self._cache: dict[str, tuple[float, RatelimitOverride | None]] = {}

    # -- the rate limiter's view -----------------------------------------------------------

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

    # -- the admin API ---------------------------------------------------------------------

    async def get(self, user_id: str) -> dict[str, Any]:
        """``{messages_per_second, burst_count}``, or ``{}`` without an override."""
        await self._existing_local(user_id, "Can only look up local users")
        override = await self._storage.ratelimit_overrides.get(user_id)
        if override is None:
            return {}
        return _body(override)

    async def set(self, user_id: str, body: Mapping[str, Any],
                  entry: AuditEntry | None) -> dict[str, Any]:
        await self._existing_local(user_id, "Only local users can be ratelimited")
        values = []
        for key in ("messages_per_second", "burst_count"):
            value = body.get(key, 0)
            # bool is an int in Python, but not in JSON; the column is a BIGINT.
            if type(value) is not int or not 0 <= value <= _MAX_VALUE:
                raise errors.invalid_param(f"{value!r} parameter must be a positive int")
            values.append(value)
        override = RatelimitOverride(values[0], values[1])
        async with self._audit.transaction(entry) as tx:
            await tx.ratelimit_overrides.set(user_id, override.messages_per_second,
                                             override.burst_count)
        self._cache.pop(user_id, None)
        return _body(override)

    async def delete(self, user_id: str, entry: AuditEntry | None) -> dict[str, Any]:
        await self._existing_local(user_id, "Only local users can be ratelimited")
        async with self._audit.transaction(entry) as tx:
            await tx.ratelimit_overrides.delete(user_id)
        self._cache.pop(user_id, None)
        return {}

    async def _existing_local(self, user_id: str, message: str) -> None:
        await existing_local_user(self._storage, user_id, self._server_name, message)


def _body(override: RatelimitOverride) -> dict[str, Any]:
    return {"messages_per_second": override.messages_per_second,
            "burst_count": override.burst_count}
