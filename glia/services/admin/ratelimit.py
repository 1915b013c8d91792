"""Per-user rate-limit overrides: Synapse's ``/v1/users/{userId}/override_ratelimit``.

The rate limiter reads overrides through :mod:`glia.services.ratelimit`, whose cache a
change made here clears at once (other processes see it within the cache's TTL).
"""

from __future__ import annotations

from typing import Any

import msgspec

from glia import errors
from glia.config import Config
from glia.protocol.canonical_json import SAFE_INT_MAX
from glia.services.ratelimit import RatelimitOverrides
from glia.services.targets import existing_local_user
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage
from glia.storage.ratelimit_overrides import RatelimitOverride

__all__ = ["OverrideRequest", "RatelimitOverride", "RatelimitOverrideService"]



def _rate(value: Any) -> int:
    # bool is an int in Python, but not in JSON; the column is a BIGINT.
    if type(value) is not int or not 0 <= value <= SAFE_INT_MAX:
        raise errors.invalid_param(f"{value!r} parameter must be a positive int")
    return value


class OverrideRequest(msgspec.Struct):
    """``POST …/override_ratelimit``: a key left out is 0 (Synapse's messages on error)."""

    messages_per_second: Any = 0
    burst_count: Any = 0

    def __post_init__(self) -> None:
        self.messages_per_second = _rate(self.messages_per_second)
        self.burst_count = _rate(self.burst_count)


class RatelimitOverrideService:
    def __init__(self, config: Config, storage: Storage, overrides: RatelimitOverrides
                 ) -> None:
        self._server_name = config.server_name
        self._storage = storage
        self._overrides = overrides

    # -- the admin API ---------------------------------------------------------------------

    async def get(self, user_id: str) -> dict[str, Any]:
        """``{messages_per_second, burst_count}``, or ``{}`` without an override."""
        await self._existing_local(user_id, "Can only look up local users")
        override = await self._storage.ratelimit_overrides.get(user_id)
        if override is None:
            return {}
        return _body(override)

    async def set(self, uow: UnitOfWork, user_id: str, body: OverrideRequest
                  ) -> dict[str, Any]:
        await self._existing_local(user_id, "Only local users can be ratelimited")
        override = RatelimitOverride(body.messages_per_second, body.burst_count)
        async with uow.transaction() as tx:
            await tx.ratelimit_overrides.set(user_id, override.messages_per_second,
                                             override.burst_count)
        self._overrides.forget(user_id)
        return _body(override)

    async def delete(self, uow: UnitOfWork, user_id: str) -> dict[str, Any]:
        await self._existing_local(user_id, "Only local users can be ratelimited")
        async with uow.transaction() as tx:
            await tx.ratelimit_overrides.delete(user_id)
        self._overrides.forget(user_id)
        return {}

    async def _existing_local(self, user_id: str, message: str) -> None:
        await existing_local_user(self._storage, user_id, self._server_name, message)


def _body(override: RatelimitOverride) -> dict[str, Any]:
    return {"messages_per_second": override.messages_per_second,
            "burst_count": override.burst_count}
