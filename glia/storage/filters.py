"""Stored filters: a user's filter definitions by ID."""

from __future__ import annotations

import json
from typing import Any

from glia.storage.engine import Executor


class FilterStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def add(self, user_id: str, definition: dict[str, Any]) -> int:
        """Store a definition under the user's next filter ID (callers use a transaction
        so two concurrent creations cannot take the same ID)."""
        last = await self._db.fetchval(
            "SELECT MAX(filter_id) FROM filters WHERE user_id = ?", user_id)
        filter_id = 0 if last is None else int(last) + 1
        await self._db.execute(
            "INSERT INTO filters (user_id, filter_id, definition) VALUES (?, ?, ?)",
            user_id, filter_id, json.dumps(definition, separators=(",", ":")))
        return filter_id

    async def get(self, user_id: str, filter_id: int) -> dict[str, Any] | None:
        text = await self._db.fetchval(
            "SELECT definition FROM filters WHERE user_id = ? AND filter_id = ?",
            user_id, filter_id)
        return None if text is None else dict(json.loads(text))
