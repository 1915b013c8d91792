"""Per-user rate-limit overrides: Synapse's ``/v1/users/{userId}/override_ratelimit``.

The rate limiter reads overrides through :mod:`glia.services.ratelimit`, whose cache a
change made here clears at once (other processes see it within the cache's TTL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.config import Config
from glia.services.audit import AuditEntry, AuditService
from glia.services.ratelimit import RatelimitOverrides
from glia.services.targets import existing_local_user
from glia.storage import Storage
from glia.storage.ratelimit_overrides import RatelimitOverride

__all__ = ["RatelimitOverrideService"]

#: The largest integer every JSON parser reads exactly.
_MAX_VALUE = 2**53 - 1


class RatelimitOverrideService:
    def __init__(self, config: Config, storage: Storage, audit: AuditService,
                 overrides: RatelimitOverrides) -> None:
        self._server_name = config.server_name
        self._storage = storage
        self._audit = audit
        self._overrides = overrides

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
        self._overrides.forget(user_id)
        return _body(override)

    async def delete(self, user_id: str, entry: AuditEntry | None) -> dict[str, Any]:
        await self._existing_local(user_id, "Only local users can be ratelimited")
        async with self._audit.transaction(entry) as tx:
            await tx.ratelimit_overrides.delete(user_id)
        self._overrides.forget(user_id)
        return {}

    async def _existing_local(self, user_id: str, message: str) -> None:
        await existing_local_user(self._storage, user_id, self._server_name, message)


def _body(override: RatelimitOverride) -> dict[str, Any]:
    return {"messages_per_second": override.messages_per_second,
            "burst_count": override.burst_count}
