"""Guests in rooms (the spec's Guest Access module, "Server behaviour"): a guest may
join a room only while its ``m.room.guest_access`` is ``can_join``, and when that stops
being so, the guests in the room leave it (the server sends their leave, as Synapse
does). Which endpoints a guest may call at all is the http layer's route table."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from glia.errors import MatrixError
from glia.services.event_fanout import WrittenEvent
from glia.storage import Storage

logger = logging.getLogger(__name__)

GUEST_ACCESS = "m.room.guest_access"
#: (user_id, room_id) → the user leaves the room.
Leave = Callable[[str, str], Awaitable[None]]


async def guests_may_join(storage: Storage, room_id: str) -> bool:
    ids = await storage.state.current_ids(room_id, [(GUEST_ACCESS, "")])
    event = await storage.events.get(ids[(GUEST_ACCESS, "")]) \
        if (GUEST_ACCESS, "") in ids else None
    return event is not None and event.content.get("guest_access") == "can_join"


async def check_guest_may_join(storage: Storage, user_id: str, room_id: str) -> None:
    """403 for a guest joining a room that does not let guests join."""
    user = await storage.users.get(user_id)
    if user is not None and user.is_guest and not await guests_may_join(storage, room_id):
        raise MatrixError(403, "M_FORBIDDEN", "Guest access not allowed")


class GuestEviction:
    """An event subscriber: after an ``m.room.guest_access`` change that shuts guests
    out, the room's guests leave. Idempotent: a guest already gone is skipped."""

    name = "guest_eviction"

    def __init__(self, storage: Storage, leave: Leave) -> None:
        self._storage = storage
        self._leave = leave

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        rooms = {w.event.room_id for w in events
                 if w.event.type == GUEST_ACCESS and w.event.state_key == ""}
        for room_id in sorted(rooms):
            if await guests_may_join(self._storage, room_id):
                continue
            members = [m.user_id for m in await self._storage.state.members_at(
                room_id, None, ["join"])]
            for user_id in sorted(await self._storage.users.guests_among(members)):
                try:
                    await self._leave(user_id, room_id)
                except MatrixError as e:  # left meanwhile
                    logger.info("guest %s not removed from %s: %s", user_id, room_id,
                                e.error)

