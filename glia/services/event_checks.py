"""Checks on an event a local writer proposes, beyond the room's auth rules.

The auth rules judge an event against room state; they do not say that a membership's
``state_key`` is a user ID or that a redaction names an event of the same room (a
receiving server cannot know the latter). Synapse refuses both before writing
(``UserID.from_string`` on the target, "Cannot redact event from a different room");
so does Glia, here, called by the event writer before it builds the event. So is the
power to redact someone else's event, which the auth rules of newer rooms leave to the
redacting server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.ids import InvalidId, parse_user_id
from glia.protocol.power_levels import action_level, room_creators, user_level
from glia.protocol.room_versions import RoomVersion
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


async def check_redaction_power(tx: Stores, version: RoomVersion, sender: str, redacts: str,
                                auth_state: Mapping[tuple[str, str], Any]) -> None:
    """Redacting someone else's event takes the room's ``redact`` level. From room
    version 3 the auth rules leave this to the redacting server (they cannot see the
    original), so the client API checks it here, as Synapse does."""
    target = await tx.events.get(redacts)
    if target is None or target.sender == sender:
        return
    levels = auth_state.get(("m.room.power_levels", ""))
    creators = room_creators(auth_state.get(("m.room.create", "")), version)
    levels_content = levels.get("content") if levels is not None else None
    if user_level(levels_content, sender, creators, version) < \
            action_level(levels_content, "redact", version):
        raise errors.forbidden("You don't have permission to redact events")
