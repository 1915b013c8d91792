"""Windows in which a user may replace their master cross-signing key without UIA."""

from __future__ import annotations

from glia.storage.engine import Executor


class CrossSigningReplacementStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def open_window(self, user_id: str, before_ms: int) -> None:
        await self._db.execute(
            "INSERT INTO cross_signing_replacement_windows (user_id, updatable_before_ms)"
            " VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " updatable_before_ms = excluded.updatable_before_ms", user_id, before_ms)

    async def window_end(self, user_id: str) -> int | None:
        """Until when (ms) the user may replace their master key without UIA, if set."""
        value = await self._db.fetchval(
            "SELECT updatable_before_ms FROM cross_signing_replacement_windows"
            " WHERE user_id = ?", user_id)
        return None if value is None else int(value)

    async def close_window(self, user_id: str) -> None:
        await self._db.execute(
            "DELETE FROM cross_signing_replacement_windows WHERE user_id = ?", user_id)
