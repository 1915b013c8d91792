"""Per-user experimental-feature flags on Synapse's ``/v1/experimental_features/{userId}``.

Only the names Synapse knows are accepted, so a tool that sets them (Ketesa) works
unchanged. Glia implements none of the features behind them (MSC3881 remote push
toggles, MSC3575 sliding sync, MSC4222 ``state_after`` in sync): the flags are stored and
reported, and change nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.services.audit import AuditEntry, AuditService
from glia.services.targets import local_user
from glia.storage import Storage

#: The per-user features Synapse knows, in the order it lists them.
FEATURES = ("msc3881", "msc3575", "msc4222")


class ExperimentalFeaturesService:
    def __init__(self, config: Config, storage: Storage, audit: AuditService) -> None:
        self._server_name = config.server_name
        self._storage = storage
        self._audit = audit

    def _local(self, user_id: str, message: str) -> None:
        local_user(user_id, self._server_name, message)

    async def get(self, user_id: str) -> dict[str, Any]:
        """Every known feature, ``false`` unless switched on (an unknown local user has
        none switched on, as in Synapse)."""
        self._local(user_id,
                    "User must be local to check what experimental features are enabled.")
        enabled = await self._storage.experimental_features.enabled(user_id)
        return {"features": {name: name in enabled for name in FEATURES}}

    async def put(self, user_id: str, body: Mapping[str, Any],
                  entry: AuditEntry | None) -> dict[str, Any]:
        """Switch the named features on or off; features not named keep their value."""
        self._local(user_id, "User must be local to enable experimental features.")
        features = body.get("features")
        if not features:
            raise MatrixError(400, "M_UNKNOWN", "You must provide features to set.")
        if not isinstance(features, Mapping):
            raise errors.bad_json("'features' must be an object")
        for name, value in features.items():
            if name not in FEATURES:
                raise MatrixError(400, "M_UNKNOWN",
                                  f"{name!r} is not recognised as a valid experimental "
                                  "feature.")
            if not isinstance(value, bool):
                raise errors.bad_json(f"Feature {name!r} must be true or false")
        # Glia keeps no settings for accounts that do not exist.
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        async with self._audit.transaction(entry) as tx:
            await tx.experimental_features.set(user_id, dict(features))
        return {}
