"""Per-user experimental-feature flags (Synapse's ``experimental_features`` admin API)."""

from __future__ import annotations

from collections.abc import Mapping

from glia.storage.engine import Executor


class ExperimentalFeatureStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def enabled(self, user_id: str) -> set[str]:
        """The features switched on for the user."""
        rows = await self._db.fetchall(
            "SELECT feature FROM user_experimental_features WHERE user_id = ?"
            " AND enabled = TRUE", user_id)
        return {r["feature"] for r in rows}

    async def set(self, user_id: str, features: Mapping[str, bool]) -> None:
        """Switch the given features on or off; the others keep their value."""
        for feature, enabled in sorted(features.items()):
            await self._db.execute(
                "INSERT INTO user_experimental_features (user_id, feature, enabled)"
                " VALUES (?, ?, ?) ON CONFLICT (user_id, feature) DO UPDATE SET"
                " enabled = excluded.enabled", user_id, feature, enabled)
