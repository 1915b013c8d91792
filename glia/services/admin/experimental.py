"""Per-user experimental-feature flags on Synapse's ``/v1/experimental_features/{userId}``.

Only the names Synapse knows are accepted, so a tool that sets them (Ketesa) works
unchanged. Glia implements none of the features behind them (MSC3881 remote push
toggles, MSC3575 sliding sync, MSC4222 ``state_after`` in sync): the flags are stored and
reported, and change nothing else.
"""

from __future__ import annotations

from typing import Any

import msgspec

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.services.targets import local_user
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage

#: The per-user features Synapse knows, in the order it lists them.
FEATURES = ("msc3881", "msc3575", "msc4222")


class FeatureFlags(msgspec.Struct):
    """``PUT /v1/experimental_features/{userId}``: ``{"features": {name: bool}}``, with
    Synapse's ``M_UNKNOWN`` for none given or an unknown name."""

    features: dict[str, bool] | None = None

    def __post_init__(self) -> None:
        if not self.features:
            raise MatrixError(400, "M_UNKNOWN", "You must provide features to set.")
        for name in self.features:
            if name not in FEATURES:
                raise MatrixError(400, "M_UNKNOWN",
                                  f"{name!r} is not recognised as a valid experimental "
                                  "feature.")


class ExperimentalFeaturesService:
    def __init__(self, config: Config, storage: Storage) -> None:
        self._server_name = config.server_name
        self._storage = storage

    def _local(self, user_id: str, message: str) -> None:
        local_user(user_id, self._server_name, message)

    async def get(self, user_id: str) -> dict[str, Any]:
        """Every known feature, ``false`` unless switched on (an unknown local user has
        none switched on, as in Synapse)."""
        self._local(user_id,
                    "User must be local to check what experimental features are enabled.")
        enabled = await self._storage.experimental_features.enabled(user_id)
        return {"features": {name: name in enabled for name in FEATURES}}

    async def put(self, uow: UnitOfWork, user_id: str, body: FeatureFlags) -> dict[str, Any]:
        """Switch the named features on or off; features not named keep their value."""
        self._local(user_id, "User must be local to enable experimental features.")
        # Glia keeps no settings for accounts that do not exist.
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        async with uow.transaction() as tx:
            await tx.experimental_features.set(user_id, dict(body.features or {}))
        return {}
