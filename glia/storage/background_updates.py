"""Whether background-update jobs may run (one switch every process reads)."""

from __future__ import annotations

from glia.storage.engine import Executor


class BackgroundUpdatesStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def enabled(self) -> bool:
        return bool(await self._db.fetchval(
            "SELECT enabled FROM background_updates_switch WHERE id = 1"))

    async def set_enabled(self, enabled: bool) -> None:
        await self._db.execute(
            "UPDATE background_updates_switch SET enabled = ? WHERE id = 1", enabled)
