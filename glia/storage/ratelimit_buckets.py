"""Token buckets in the database, for rate limits shared by several processes.

A take is one statement: insert a full bucket minus one, or refill the existing one for
the time since its last update (capped at the burst) and take a token if one is there.
The row lock the upsert takes makes concurrent takes from any process queue up, so a
burst of N is N across all processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from glia.storage.engine import Executor

_REFILLED = (
    "(CASE WHEN ratelimit_buckets.tokens + (CAST(? AS BIGINT) - ratelimit_buckets.updated_ms)"
    " * CAST(? AS DOUBLE PRECISION) / 1000.0 > CAST(? AS DOUBLE PRECISION)"
    " THEN CAST(? AS DOUBLE PRECISION)"
    " ELSE ratelimit_buckets.tokens + (CAST(? AS BIGINT) - ratelimit_buckets.updated_ms)"
    " * CAST(? AS DOUBLE PRECISION) / 1000.0 END)"
)

_TAKE = (
    "INSERT INTO ratelimit_buckets (limit_class, caller, tokens, updated_ms, allowed)"
    " VALUES (?, ?, CAST(? AS DOUBLE PRECISION) - 1, ?, TRUE)"
    " ON CONFLICT (limit_class, caller) DO UPDATE SET"
    f" allowed = {_REFILLED} >= 1,"
    f" tokens = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END,"
    " updated_ms = CAST(? AS BIGINT)"
    " RETURNING tokens, allowed"
)


@dataclass(frozen=True)
class Take:
    allowed: bool
    #: Tokens left after the take (below 1 when refused: the wait follows from it).
    tokens: float


class RatelimitBucketStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def take(self, limit_class: str, caller: str, per_second: float, burst: float,
                   now_ms: int) -> Take:
        """Refill the bucket to ``now_ms`` and take one token if there is one."""
        refilled = (now_ms, per_second, burst, burst, now_ms, per_second)
        row = await self._db.fetchone(
            _TAKE, limit_class, caller, burst, now_ms,
            *refilled, *refilled, *refilled, *refilled, now_ms)
        assert row is not None  # an upsert with RETURNING always returns its row
        return Take(bool(row["allowed"]), float(row["tokens"]))

    async def sweep(self, before_ms: int) -> None:
        """Drop buckets untouched since ``before_ms`` (they have refilled anyway)."""
        await self._db.execute("DELETE FROM ratelimit_buckets WHERE updated_ms < ?", before_ms)
