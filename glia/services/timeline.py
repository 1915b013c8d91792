"""Reading a room's timeline: ``/messages``, ``/context``, ``/event``, with history visibility.

Visibility follows the spec's history-visibility rules, evaluated per event from two
small interval lists (the room's ``m.room.history_visibility`` values and the reader's
memberships over time), so a page costs two extra queries however deep the room is.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from typing import Any

from glia import errors
from glia.clock import now_ms
from glia.ids import is_valid_event_id, is_valid_room_id
from glia.services.events import client_event
from glia.services.tokens import Position, parse_position
from glia.storage import Storage
from glia.storage.events import StoredEvent
from glia.storage.state import StateInterval

MAX_LIMIT = 1000


@dataclass(frozen=True)
class RoomEventFilter:
    types: list[str] | None = None
    not_types: list[str] | None = None
    senders: list[str] | None = None
    not_senders: list[str] | None = None
    contains_url: bool | None = None


def parse_room_event_filter(text: str | None) -> RoomEventFilter:
    if not text:
        return RoomEventFilter()
    try:
        value = json.loads(text)
    except ValueError as e:
        raise errors.invalid_param("filter must be a JSON object") from e
    if not isinstance(value, dict):
        raise errors.invalid_param("filter must be a JSON object")

    def strings(key: str) -> list[str] | None:
        items = value.get(key)
        if items is None:
            return None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise errors.invalid_param(f"filter.{key} must be a list of strings")
        return items

    contains_url = value.get("contains_url")
    if contains_url is not None and not isinstance(contains_url, bool):
        raise errors.invalid_param("filter.contains_url must be a boolean")
    return RoomEventFilter(strings("types"), strings("not_types"), strings("senders"),
                           strings("not_senders"), contains_url)


class _Visibility:
    """Decides which events of one room one user may see."""

    def __init__(self, user_id: str, history: list[tuple[StateInterval, str]],
                 memberships: list[StateInterval]) -> None:
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


class TimelineService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def _visibility(self, user_id: str, room_id: str) -> _Visibility:
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a legal room ID")
        if await self._storage.rooms.get(room_id) is None:
            raise errors.not_found("Unknown room")
        state = self._storage.state
        history_rows = await state.intervals(room_id, "m.room.history_visibility", "")
        events = await self._storage.events.get_many([h.event_id for h in history_rows])
        history = [(h, str(events[h.event_id].content.get("history_visibility", "shared")))
                   for h in history_rows if h.event_id in events]
        memberships = await state.intervals(room_id, "m.room.member", user_id)
        if not memberships:
            world = history and history[-1][1] == "world_readable"
            if not world:
                raise errors.forbidden(f"User {user_id} not in room {room_id}")
        return _Visibility(user_id, history, memberships)

    async def messages(self, user_id: str, device_id: str, room_id: str, *,
                       from_token: str | None, to_token: str | None, backwards: bool,
                       limit: int, filter_json: str | None) -> dict[str, Any]:
        visibility = await self._visibility(user_id, room_id)
        event_filter = parse_room_event_filter(filter_json)
        limit = max(0, min(limit, MAX_LIMIT))
        from_pos = _topological(parse_position(from_token)) if from_token else None
        to_pos = _topological(parse_position(to_token)) if to_token else None
        if from_pos is None and not backwards:
            from_pos = (0, 0)
        elif from_pos is None:
            # Just past the newest event: (depth + 1, 0) sorts after everything so far.
            latest = await self._storage.events.latest_in_room(room_id)
            from_pos = (latest.depth + 1, 0) if latest else (1, 0)
        page = await self._storage.events.page(
            room_id, backwards=backwards, from_pos=from_pos, to_pos=to_pos, limit=limit,
            types=event_filter.types, not_types=event_filter.not_types,
            senders=event_filter.senders, not_senders=event_filter.not_senders,
            contains_url=event_filter.contains_url,
        )
        now = now_ms()
        body: dict[str, Any] = {
            "chunk": [client_event(e, (user_id, device_id), now) for e in page
                      if visibility.visible(e)],
            "start": Position(*from_pos).token(),
        }
        if page and len(page) == limit:
            last = page[-1]
            body["end"] = Position(last.depth, last.stream_ordering).token()
        return body

    async def visible_event(self, user_id: str, room_id: str, event_id: str) -> StoredEvent:
        if not is_valid_event_id(event_id):
            raise errors.invalid_param(f"{event_id} is not a legal event ID")
        visibility = await self._visibility(user_id, room_id)
        event = await self._storage.events.get(event_id)
        if event is None or event.room_id != room_id or not visibility.visible(event):
            raise errors.not_found("Event not found.")
        return event

    async def context(self, user_id: str, device_id: str, room_id: str, event_id: str,
                      limit: int, filter_json: str | None) -> dict[str, Any]:
        event = await self.visible_event(user_id, room_id, event_id)
        visibility = await self._visibility(user_id, room_id)
        event_filter = parse_room_event_filter(filter_json)
        limit = max(0, min(limit, MAX_LIMIT))
        before_n = limit // 2
        after_n = limit - before_n
        here = (event.depth, event.stream_ordering)
        kwargs: dict[str, Any] = dict(
            types=event_filter.types, not_types=event_filter.not_types,
            senders=event_filter.senders, not_senders=event_filter.not_senders,
            contains_url=event_filter.contains_url, to_pos=None)
        before = await self._storage.events.page(room_id, backwards=True, from_pos=here,
                                                 limit=before_n, **kwargs)
        after = await self._storage.events.page(room_id, backwards=False, from_pos=here,
                                                limit=after_n, **kwargs)
        now = now_ms()
        viewer = (user_id, device_id)
        first = before[-1] if before else event
        last = after[-1] if after else event
        state_ids = await self._storage.state.ids_at(room_id, last.stream_ordering)
        state_events = await self._storage.events.get_many(list(state_ids.values()))
        return {
            "event": client_event(event, viewer, now),
            "events_before": [client_event(e, viewer, now) for e in before
                              if visibility.visible(e)],
            "events_after": [client_event(e, viewer, now) for e in after
                             if visibility.visible(e)],
            "start": Position(first.depth, first.stream_ordering).token(),
            "end": Position(last.depth, last.stream_ordering).token(),
            "state": [client_event(e, None, now) for e in
                      sorted(state_events.values(), key=lambda e: e.stream_ordering)],
        }


def _topological(position: Position) -> tuple[int, int]:
    if position.depth is None:
        raise errors.invalid_param("Expected a topological pagination token")
    return position.depth, position.stream
