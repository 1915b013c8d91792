"""``PUT /rooms/{roomId}/state/{eventType}/{stateKey}``: what the server checks before a
client's state event goes to the single writer.

Two rules the room's auth rules can't know: re-sending the state that is already there
(same sender, same content) answers the existing event instead of writing a copy
(Synapse's deduplication, which keeps clients that re-assert state from flooding the
timeline); and an ``m.room.canonical_alias`` may only name aliases that exist and point
at the room (the spec's ``M_BAD_ALIAS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.errors import MatrixError
from glia.ids import is_valid_room_alias
from glia.protocol.canonical_json import encode_canonical_json
from glia.services.events import EventRequest, EventsService
from glia.storage import Storage
from glia.storage.events import StoredEvent

CANONICAL_ALIAS = "m.room.canonical_alias"


class StateWriteService:
    def __init__(self, storage: Storage, events: EventsService) -> None:
        self._storage = storage
        self._events = events

    async def set_state(self, sender: str, room_id: str, event_type: str, state_key: str,
                        content: Mapping[str, Any], *,
                        origin_server_ts: int | None = None) -> str:
        """Write one state event; returns its ID (the existing one when unchanged).
        ``origin_server_ts`` is an application service's bridged timestamp."""
        current = await self._current(room_id, event_type, state_key)
        if current is not None and current.sender == sender and \
                encode_canonical_json(current.content) == encode_canonical_json(content):
            return current.event_id
        if event_type == CANONICAL_ALIAS and state_key == "":
            await self._check_canonical_alias(room_id, content, current)
        event = await self._events.send(
            room_id, EventRequest(sender, event_type, content, state_key=state_key,
                                  origin_server_ts=origin_server_ts))
        return event.event_id

    async def _current(self, room_id: str, event_type: str, state_key: str
                       ) -> StoredEvent | None:
        key = (event_type, state_key)
        event_id = (await self._storage.state.current_ids(room_id, [key])).get(key)
        return await self._storage.events.get(event_id) if event_id else None

    async def _check_canonical_alias(self, room_id: str, content: Mapping[str, Any],
                                     current: StoredEvent | None) -> None:
        """Aliases newly named (the main one if changed, alt_aliases not there before)
        must be well formed (``M_INVALID_PARAM``) and map to this room (``M_BAD_ALIAS``);
        names already in the event stay, so removing an alias always works."""
        old = current.content if current is not None else {}
        alias = content.get("alias")
        alt_aliases = content.get("alt_aliases", [])
        if alias is not None and not isinstance(alias, str):
            raise errors.invalid_param("The alias property must be a string.")
        if not isinstance(alt_aliases, list):
            raise errors.invalid_param("The alt_aliases property must be a list.")
        old_alt = old.get("alt_aliases")
        known = set(old_alt) if isinstance(old_alt, list) else set()
        new = [a for a in alt_aliases if not (isinstance(a, str) and a in known)]
        if alias and alias != old.get("alias"):
            new.insert(0, alias)
        for name in new:
            if not isinstance(name, str) or not is_valid_room_alias(name):
                raise errors.invalid_param(f"Invalid alias: {name!r}")
            mapped = await self._storage.directory.get_alias(name)
            if mapped is None or mapped.room_id != room_id:
                raise MatrixError(400, "M_BAD_ALIAS",
                                  f"Room alias {name} does not point to the room")
