"""The stripped state another server sent with an invite or a knock of one of our users
into a room this server is not in, kept by the member event it came with."""

from __future__ import annotations

import json
from typing import Any

from glia.storage.engine import Executor


class StrippedStateStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def put(self, event_id: str, room_id: str, events: list[dict[str, Any]]) -> None:
        await self._db.execute(
            "INSERT INTO remote_stripped_state (event_id, room_id, events) VALUES (?, ?, ?)"
            " ON CONFLICT (event_id) DO UPDATE SET events = excluded.events",
            event_id, room_id, json.dumps(events))

    async def of(self, event_id: str) -> list[dict[str, Any]]:
        """What came with the member event ``event_id`` (nothing if none did)."""
        value = await self._db.fetchval(
            "SELECT events FROM remote_stripped_state WHERE event_id = ?", event_id)
        return [] if value is None else list(json.loads(value))
