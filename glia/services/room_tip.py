"""What the event writer knows of a room while it holds the room's lock."""

from __future__ import annotations

from collections.abc import Sequence

from glia.storage import Stores
from glia.storage.events import StoredEvent


class RoomTip:
    """What the writer knows of a room inside one transaction that holds the room's
    lock, kept up by the events it writes there: the forward extremity and its depth,
    and the current state of the keys looked up so far (None: no such state). Nothing
    else writes the room while the lock is held, so the events of one batch (a new
    room's invites) read each auth event once instead of once per event."""

    def __init__(self) -> None:
        self.prev: list[str] | None = None
        self.depth = 0
        self._state: dict[tuple[str, str], StoredEvent | None] = {}

    async def state_by_key(self, tx: Stores, room_id: str, keys: Sequence[tuple[str, str]]
                           ) -> dict[tuple[str, str], StoredEvent]:
        missing = [key for key in keys if key not in self._state]
        if missing:
            ids = await tx.state.current_ids_by_key(room_id, missing)
            events = await tx.events.get_many(list(ids.values()))
            for key in missing:
                self._state[key] = events.get(ids.get(key, ""))
        return {key: event for key in keys if (event := self._state[key]) is not None}

    def wrote(self, event: StoredEvent, *, redaction: bool) -> None:
        """``event`` was written: it is the room's tip, and its state key's value."""
        self.prev, self.depth = [event.event_id], event.depth
        if redaction:
            self._state.clear()  # the redacted event may be state read before
        if event.state_key is not None:
            self._state[(event.type, event.state_key)] = event
