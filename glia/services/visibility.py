"""Who may see which events of a room: the spec's history-visibility rules.

Evaluated per event from two small interval lists (the room's
``m.room.history_visibility`` values and the reader's memberships over time), so a page of
any depth costs two extra queries. Shared by every reader of room events: the timeline,
relations and threads, and later sync and search.
"""

from __future__ import annotations

import bisect

from glia import errors
from glia.ids import is_valid_room_id
from glia.storage import Storage
from glia.storage.events import StoredEvent
from glia.storage.state import StateInterval


class Visibility:
    """Decides which events of one room one user may see."""

    def __init__(self, user_id: str, history: list[tuple[StateInterval, str]],
                 memberships: list[StateInterval], *, everything: bool = False) -> None:
        self._everything = everything
        self._user_id = user_id
        self._history = history
        self._history_starts = [h.from_stream for h, _ in history]
        self._memberships = memberships
        self._membership_starts = [m.from_stream for m in memberships]
        self._joined_now = bool(memberships) and memberships[-1].to_stream is None \
            and memberships[-1].membership == "join"

    @staticmethod
    def _at(starts: list[int], stream: int) -> int:
        return bisect.bisect_right(starts, stream) - 1

    def visible(self, event: StoredEvent) -> bool:
        if self._everything:
            return True
        if event.type == "m.room.member" and event.state_key == self._user_id:
            return True
        i = self._at(self._history_starts, event.stream_ordering)
        visibility = self._history[i][1] if i >= 0 else "shared"
        if visibility == "world_readable":
            return True
        j = self._at(self._membership_starts, event.stream_ordering)
        membership = self._memberships[j].membership if j >= 0 else None
        if membership == "join":
            return True
        if visibility == "shared" and self._joined_now:
            return True
        return visibility == "invited" and membership == "invite"


async def room_visibility(storage: Storage, user_id: str, room_id: str) -> Visibility:
    """The reader's view of a room; ``404`` for unknown rooms, ``403`` for rooms the user
    never belonged to (unless world-readable)."""
    if not is_valid_room_id(room_id):
        raise errors.invalid_param(f"{room_id} is not a legal room ID")
    if await storage.rooms.get(room_id) is None:
        raise errors.not_found("Unknown room")
    history_rows = await storage.state.intervals(room_id, "m.room.history_visibility", "")
    events = await storage.events.get_many([h.event_id for h in history_rows])
    history = [(h, str(events[h.event_id].content.get("history_visibility", "shared")))
               for h in history_rows if h.event_id in events]
    memberships = await storage.state.intervals(room_id, "m.room.member", user_id)
    if not memberships:
        world = history and history[-1][1] == "world_readable"
        if not world:
            raise errors.forbidden(f"User {user_id} not in room {room_id}")
    return Visibility(user_id, history, memberships)


async def admin_visibility(storage: Storage, user_id: str, room_id: str) -> Visibility:
    """A server admin's view of a room through the admin API: every event, whatever the
    admin's membership (``404`` for unknown rooms)."""
    if not is_valid_room_id(room_id):
        raise errors.invalid_param(f"{room_id} is not a legal room ID")
    if await storage.rooms.get(room_id) is None:
        raise errors.not_found("Room not found")
    return Visibility(user_id, [], [], everything=True)
