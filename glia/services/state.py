"""Reading room state as a member sees it.

A joined member sees the current state; someone who was joined and is no longer (left,
kicked, banned) sees the state as it was when they stopped being joined; in a
``world_readable`` room anyone else sees the current state, elsewhere nothing (``403``).
A membership alone is not having been in the room: a rescinded knock, a rejected invite
or a ban before joining leave ``leave``/``ban`` behind, and show nothing.
"""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.ids import is_valid_room_id
from glia.services.events import client_event
from glia.services.tokens import Position
from glia.storage import Storage
from glia.storage.events import StoredEvent
from glia.storage.state import Membership


class StateService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def _require_room(self, room_id: str) -> None:
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a legal room ID")
        if await self._storage.rooms.get(room_id) is None:
            raise errors.not_found("Unknown room")

    async def visible_position(self, user_id: str, room_id: str) -> int | None:
        """None: the user sees current state; else the stream position of the event that
        ended their last time joined."""
        await self._require_room(room_id)
        memberships = await self._storage.state.intervals(room_id, "m.room.member", user_id)
        if memberships and memberships[-1].to_stream is None \
                and memberships[-1].membership == "join":
            return None
        ended = [m.to_stream for m in memberships
                 if m.membership == "join" and m.to_stream is not None]
        if ended:
            return ended[-1]
        if await self._world_readable(room_id):
            return None
        raise errors.forbidden(f"User {user_id} not in room {room_id}, and room previews"
                               " are disabled")

    async def _world_readable(self, room_id: str) -> bool:
        key = ("m.room.history_visibility", "")
        event_id = (await self._storage.state.ids_at(room_id, None, [key])).get(key)
        event = await self._storage.events.get(event_id) if event_id else None
        return event is not None and \
            event.content.get("history_visibility") == "world_readable"

    async def state_events(self, user_id: str, room_id: str) -> list[StoredEvent]:
        at = await self.visible_position(user_id, room_id)
        ids = await self._storage.state.ids_at(room_id, at)
        events = await self._storage.events.get_many(list(ids.values()))
        return sorted(events.values(), key=lambda e: e.stream_ordering)

    async def state_event(self, user_id: str, room_id: str, event_type: str,
                          state_key: str) -> StoredEvent:
        at = await self.visible_position(user_id, room_id)
        ids = await self._storage.state.ids_at(room_id, at, [(event_type, state_key)])
        event_id = ids.get((event_type, state_key))
        event = await self._storage.events.get(event_id) if event_id else None
        if event is None:
            raise errors.not_found("Event not found.")
        return event

    async def stream_at(self, room_id: str, position: Position) -> int:
        """The stream position of the last event at or before a pagination token."""
        if position.depth is None:
            return position.stream
        before = await self._storage.events.page(
            room_id, backwards=True, from_pos=(position.depth, position.stream),
            to_pos=None, limit=1)
        return before[0].stream_ordering if before else 0

    async def members(self, user_id: str, room_id: str, at: Position | None,
                      membership: str | None, not_membership: str | None
                      ) -> list[dict[str, Any]]:
        visible = await self.visible_position(user_id, room_id)
        at_stream = None if at is None else await self.stream_at(room_id, at)
        # A member who left sees no later than their leaving.
        stream = at_stream if visible is None else (
            visible if at_stream is None else min(at_stream, visible))
        rows: list[Membership] = await self._storage.state.members_at(
            room_id, stream, [membership] if membership else None,
            [not_membership] if not_membership else None)
        events = await self._storage.events.get_many([m.event_id for m in rows])
        return [client_event(events[m.event_id], None) for m in rows if m.event_id in events]

    async def joined_members(self, user_id: str, room_id: str) -> dict[str, Any]:
        """Only current members may list who is joined (Synapse's rule and message)."""
        await self._require_room(room_id)
        member = await self._storage.state.membership_of(room_id, user_id)
        if member is None or member.membership != "join":
            raise errors.forbidden("Getting joined members while not being a current member"
                                   " of the room is forbidden.")
        rows = await self._storage.state.members_at(room_id, None, ["join"])
        events = await self._storage.events.get_many([m.event_id for m in rows])
        joined: dict[str, Any] = {}
        for m in rows:
            content = events[m.event_id].content if m.event_id in events else {}
            joined[m.user_id] = {"display_name": content.get("displayname"),
                                 "avatar_url": content.get("avatar_url")}
        return joined

    async def joined_rooms(self, user_id: str) -> list[str]:
        return [m.room_id for m in await self._storage.state.rooms_of_user(user_id, ["join"])]
