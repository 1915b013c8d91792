"""The client-server filter language: validation and matching, with no I/O.

A filter arrives as JSON (``POST /user/{userId}/filter`` or inline in ``/sync``), is
validated once into frozen dataclasses, and is then applied to events. ``types`` and
``not_types`` take ``*`` wildcards; ``not_*`` lists win over their positive lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from glia.protocol.glob import wildcard_match

MAX_LIMIT = 1000  # a client asking for more gets this many


class FilterError(ValueError):
    """The filter JSON is not a valid filter; the message names the field."""


def _matches_any(value: str, patterns: tuple[str, ...]) -> bool:
    return any(wildcard_match(p, value) for p in patterns)


@dataclass(frozen=True)
class EventFilter:
    limit: int | None = None
    types: tuple[str, ...] | None = None
    not_types: tuple[str, ...] = ()
    senders: tuple[str, ...] | None = None
    not_senders: tuple[str, ...] = ()
    rooms: tuple[str, ...] | None = None
    not_rooms: tuple[str, ...] = ()
    contains_url: bool | None = None
    lazy_load_members: bool = False
    include_redundant_members: bool = False
    unread_thread_notifications: bool = False

    def allows_room(self, room_id: str) -> bool:
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms

    def allows(self, event: Mapping[str, Any]) -> bool:
        """Whether an event (client or federation format) passes this filter."""
        event_type = event.get("type", "")
        sender = event.get("sender", "")
        if _matches_any(event_type, self.not_types) or sender in self.not_senders:
            return False
        if self.types is not None and not _matches_any(event_type, self.types):
            return False
        if self.senders is not None and sender not in self.senders:
            return False
        room_id = event.get("room_id")
        if isinstance(room_id, str) and not self.allows_room(room_id):
            return False
        if self.contains_url is not None:
            content = event.get("content")
            has_url = isinstance(content, Mapping) and isinstance(content.get("url"), str)
            if has_url != self.contains_url:
                return False
        return True

    def limit_or(self, default: int) -> int:
        return default if self.limit is None else min(self.limit, MAX_LIMIT)


@dataclass(frozen=True)
class RoomFilter:
    rooms: tuple[str, ...] | None = None
    not_rooms: tuple[str, ...] = ()
    include_leave: bool = False
    timeline: EventFilter = field(default_factory=EventFilter)
    state: EventFilter = field(default_factory=EventFilter)
    ephemeral: EventFilter = field(default_factory=EventFilter)
    account_data: EventFilter = field(default_factory=EventFilter)

    def allows_room(self, room_id: str) -> bool:
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms


@dataclass(frozen=True)
class Filter:
    event_format: str = "client"
    event_fields: tuple[str, ...] | None = None
    presence: EventFilter = field(default_factory=EventFilter)
    account_data: EventFilter = field(default_factory=EventFilter)
    room: RoomFilter = field(default_factory=RoomFilter)


def _strings(value: Mapping[str, Any], key: str, path: str, prefix: str | None = None
             ) -> tuple[str, ...] | None:
    items = value.get(key)
    if items is None:
        return None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise FilterError(f"{path}{key} must be a list of strings")
    if prefix is not None:
        for item in items:
            if not item.startswith(prefix):
                raise FilterError(f"{path}{key}: {item!r} does not start with {prefix!r}")
    return tuple(items)


def _bool(value: Mapping[str, Any], key: str, path: str) -> bool | None:
    item = value.get(key)
    if item is not None and not isinstance(item, bool):
        raise FilterError(f"{path}{key} must be a boolean")
    return item


def _object(value: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    item = value.get(key, {})
    if not isinstance(item, Mapping):
        raise FilterError(f"{path}{key} must be an object")
    return item


def parse_event_filter(value: Mapping[str, Any], path: str = "") -> EventFilter:
    limit = value.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                              or limit < 0):
        raise FilterError(f"{path}limit must be a non-negative integer")
    return EventFilter(
        limit=limit,
        types=_strings(value, "types", path),
        not_types=_strings(value, "not_types", path) or (),
        senders=_strings(value, "senders", path, "@"),
        not_senders=_strings(value, "not_senders", path, "@") or (),
        rooms=_strings(value, "rooms", path, "!"),
        not_rooms=_strings(value, "not_rooms", path, "!") or (),
        contains_url=_bool(value, "contains_url", path),
        lazy_load_members=bool(_bool(value, "lazy_load_members", path)),
        include_redundant_members=bool(_bool(value, "include_redundant_members", path)),
        unread_thread_notifications=bool(_bool(value, "unread_thread_notifications", path)),
    )


def parse_filter(value: Any) -> Filter:
    """Validate a filter definition; raises :class:`FilterError` naming the bad field."""
    if not isinstance(value, Mapping):
        raise FilterError("filter must be a JSON object")
    event_format = value.get("event_format", "client")
    if event_format not in ("client", "federation"):
        raise FilterError("event_format must be 'client' or 'federation'")
    room = _object(value, "room", "")
    return Filter(
        event_format=event_format,
        event_fields=_strings(value, "event_fields", ""),
        presence=parse_event_filter(_object(value, "presence", ""), "presence."),
        account_data=parse_event_filter(_object(value, "account_data", ""), "account_data."),
        room=RoomFilter(
            rooms=_strings(room, "rooms", "room.", "!"),
            not_rooms=_strings(room, "not_rooms", "room.", "!") or (),
            include_leave=bool(_bool(room, "include_leave", "room.")),
            timeline=parse_event_filter(_object(room, "timeline", "room."), "room.timeline."),
            state=parse_event_filter(_object(room, "state", "room."), "room.state."),
            ephemeral=parse_event_filter(_object(room, "ephemeral", "room."),
                                         "room.ephemeral."),
            account_data=parse_event_filter(_object(room, "account_data", "room."),
                                            "room.account_data."),
        ),
    )


def select_fields(event: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """``event_fields``: keep only the named (dot-separated, ``\\.``-escaped) paths."""
    out: dict[str, Any] = {}
    for spec in fields:
        path = [p.replace("\\.", ".") for p in re.split(r"(?<!\\)\.", spec)]
        source: Any = event
        for part in path:
            if not isinstance(source, Mapping) or part not in source:
                break
            source = source[part]
        else:
            target = out
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = source
    return out
