"""Room statistics for the admin room list (names, aliases, member and state counts),
kept current by the event writer so listing rooms never parses state.

They are counters adjusted by deltas, so they are a persist step of the writer (they
commit with the event) rather than an after-commit subscriber: a retried subscriber may
run twice, and counting an event twice would be wrong."""

from __future__ import annotations

import logging

from glia.config import Config
from glia.storage import Storage, Stores
from glia.storage.admin_rooms import STAT_STATE
from glia.storage.events import StoredEvent

logger = logging.getLogger(__name__)


class RoomStats:
    def __init__(self, config: Config, storage: Storage) -> None:
        self._server_name = config.server_name
        self._storage = storage

    async def apply(self, tx: Stores, event: StoredEvent) -> None:
        """Keep ``room_stats`` current from inside the event writer's transaction, by
        deltas: a recount would cost a scan of the room's members per join."""
        if event.state_key is None:
            return
        await self._apply_state(tx, event)
        replaced = "replaces_state" in event.unsigned
        joined = local = 0
        if event.type == "m.room.member":
            before = event.unsigned.get("prev_content", {}).get("membership") \
                if replaced else None
            after = event.content.get("membership")
            joined = (after == "join") - (before == "join")
            local = joined if event.state_key.endswith(f":{self._server_name}") else 0
        await tx.admin_rooms.adjust_counts(event.room_id, 0 if replaced else 1, joined, local)

    async def _apply_state(self, tx: Stores, event: StoredEvent) -> None:
        content = event.content
        if event.type == "m.room.create":
            room_type = content.get("type")
            await tx.admin_rooms.create_stats(
                event.room_id, room_type if isinstance(room_type, str) else None,
                content.get("m.federate", True) is not False)
        elif event.type in STAT_STATE and event.state_key == "":
            column, key = STAT_STATE[event.type]
            value = content.get(key)
            await tx.admin_rooms.set_stat(event.room_id, column,
                                          value if isinstance(value, str) else None)

    async def rebuild(self, room_id: str) -> None:
        """Recompute the room's statistics from its current state, in one transaction
        (room creation before the rest, so the row exists when the others update it)."""
        async with self._storage.transaction() as tx:
            ids = await tx.state.current_ids(room_id)
            events = await tx.events.get_many(list(ids.values()))
            create = [e for e in events.values() if e.type == "m.room.create"]
            for column, _ in STAT_STATE.values():
                await tx.admin_rooms.set_stat(room_id, column, None)
            for event in create + [e for e in events.values() if e not in create]:
                await self._apply_state(tx, event)
            await tx.admin_rooms.recount(room_id, self._server_name)

    async def backfill(self) -> int:
        """Build statistics for rooms that predate them (run at start-up)."""
        missing = await self._storage.admin_rooms.rooms_without_stats()
        for room_id in missing:
            await self.rebuild(room_id)
        if missing:
            logger.info("built room statistics for %d rooms", len(missing))
        return len(missing)
