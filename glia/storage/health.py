"""The database's liveness, for the health endpoints."""

from __future__ import annotations

from glia.storage.engine import Executor


class HealthStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def ping(self) -> None:
        """Run the most trivial query; raises if the database does not answer."""
        await self._db.fetchval("SELECT 1")
