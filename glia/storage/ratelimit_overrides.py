"""Per-user overrides of the message rate limit (Synapse's ``override_ratelimit``)."""

from __future__ import annotations

from dataclasses import dataclass

from glia.storage.engine import Executor


@dataclass(frozen=True)
class RatelimitOverride:
    """What replaces the configured message limit for one user; a 0 rate means exempt
    from every per-user limit."""

    messages_per_second: int
    burst_count: int


class RatelimitOverrideStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def get(self, user_id: str) -> RatelimitOverride | None:
        row = await self._db.fetchone(
            "SELECT messages_per_second, burst_count FROM ratelimit_overrides"
            " WHERE user_id = ?", user_id)
        if row is None:
            return None
        return RatelimitOverride(int(row["messages_per_second"]), int(row["burst_count"]))

    async def set(self, user_id: str, messages_per_second: int, burst_count: int) -> None:
        await self._db.execute(
            "INSERT INTO ratelimit_overrides (user_id, messages_per_second, burst_count)"
            " VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " messages_per_second = excluded.messages_per_second,"
            " burst_count = excluded.burst_count", user_id, messages_per_second, burst_count)

    async def delete(self, user_id: str) -> None:
        await self._db.execute("DELETE FROM ratelimit_overrides WHERE user_id = ?", user_id)
