"""Checks on an event a local writer proposes, beyond the room's auth rules.

The auth rules judge an event against room state; they do not say that a membership's
``state_key`` is a user ID or that a redaction names an event of the same room (a
receiving server cannot know the latter). Synapse refuses both before writing
(``UserID.from_string`` on the target, "Cannot redact event from a different room");
so does Glia, here, called by the event writer before it builds the event.
"""

from __future__ import annotations

from glia import errors
from glia.ids import InvalidId, parse_user_id
from glia.storage import Stores


async def check_new_event(tx: Stores, room_id: str, event_type: str,
                          state_key: str | None, redacts: str | None) -> None:
    """Raise a ``400`` for an event that must not be written into ``room_id``."""
    if event_type == "m.room.member" and state_key is not None:
        try:
            parse_user_id(state_key)
        except InvalidId as e:
            raise errors.invalid_param(f"Invalid user ID {state_key!r}: {e}") from e
    if redacts is not None:
        # An unknown target may still arrive (over federation); a known one must be ours.
        target = await tx.events.get(redacts)
        if target is not None and target.room_id != room_id:
            raise errors.invalid_param("Cannot redact event from a different room")
