"""The client-server filter language: validation and matching, with no I/O.

A filter arrives as JSON (``POST /user/{userId}/filter``, inline in ``/sync``, the
``filter`` parameter of ``/messages`` and ``/context``, the ``filter`` of ``/search``), is
validated by its wire model (:class:`FilterDefinition`, :class:`EventFilterDefinition`),
compiled once into frozen dataclasses with the defaults filled in, and is then applied to
events. ``types``, ``not_types``, ``senders``, ``not_senders``, ``rooms`` and
``not_rooms`` take ``*`` wildcards (any run of characters), matched in linear time
(``protocol.glob``); ``not_*`` lists win over their positive lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from glia.protocol.canonical_json import SafeInt
from glia.protocol.glob import wildcard_match

MAX_LIMIT = 1000  # a client asking for more gets this many


class FilterError(ValueError):
    """The filter JSON is not a valid filter; the message names the field."""


def matches_any(value: str, patterns: tuple[str, ...]) -> bool:
    """Whether one of a filter list's patterns matches the value."""
    return any(wildcard_match(p, value) for p in patterns)


def is_literal(pattern: str) -> bool:
    """Whether a filter pattern has no wildcard (it matches only itself)."""
    return "*" not in pattern


def _allows(value: str, wanted: tuple[str, ...] | None, unwanted: tuple[str, ...]) -> bool:
    if matches_any(value, unwanted):
        return False
    return wanted is None or matches_any(value, wanted)


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
        return _allows(room_id, self.rooms, self.not_rooms)

    def allows_sender(self, sender: str) -> bool:
        return _allows(sender, self.senders, self.not_senders)

    def allows_type(self, event_type: str) -> bool:
        return _allows(event_type, self.types, self.not_types)

    def allows(self, event: Mapping[str, Any]) -> bool:
        """Whether an event (client or federation format) passes this filter."""
        if not self.allows_type(str(event.get("type", ""))) or \
                not self.allows_sender(str(event.get("sender", ""))):
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
        return _allows(room_id, self.rooms, self.not_rooms)


@dataclass(frozen=True)
class Filter:
    event_format: str = "client"
    event_fields: tuple[str, ...] | None = None
    presence: EventFilter = field(default_factory=EventFilter)
    account_data: EventFilter = field(default_factory=EventFilter)
    room: RoomFilter = field(default_factory=RoomFilter)


# -- the wire shape ---------------------------------------------------------------------
# Absent and null fields are alike (filters stored before these models allowed null);
# encoding a definition leaves both out, so a stored filter reads back as it was given.

Strings = tuple[str, ...]


def _prefixed(items: Strings | None, name: str, prefix: str) -> None:
    for item in items or ():
        if not item.startswith(prefix):
            raise ValueError(f"{name}: {item!r} does not start with {prefix!r}")


class EventFilterDefinition(msgspec.Struct, frozen=True, omit_defaults=True):
    #: Negative is ``M_BAD_JSON`` (as in Synapse); past 2**53-1 out of range.
    limit: SafeInt | None = None
    types: Strings | None = None
    not_types: Strings | None = None
    senders: Strings | None = None
    not_senders: Strings | None = None
    rooms: Strings | None = None
    not_rooms: Strings | None = None
    contains_url: bool | None = None
    lazy_load_members: bool | None = None
    include_redundant_members: bool | None = None
    unread_thread_notifications: bool | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 0:
            raise ValueError("limit must not be negative")
        for name, prefix in (("senders", "@"), ("not_senders", "@"), ("rooms", "!"),
                             ("not_rooms", "!")):
            _prefixed(getattr(self, name), name, prefix)


class RoomFilterDefinition(msgspec.Struct, frozen=True, omit_defaults=True):
    rooms: Strings | None = None
    not_rooms: Strings | None = None
    include_leave: bool | None = None
    timeline: EventFilterDefinition | None = None
    state: EventFilterDefinition | None = None
    ephemeral: EventFilterDefinition | None = None
    account_data: EventFilterDefinition | None = None

    def __post_init__(self) -> None:
        _prefixed(self.rooms, "rooms", "!")
        _prefixed(self.not_rooms, "not_rooms", "!")


class FilterDefinition(msgspec.Struct, frozen=True, omit_defaults=True):
    """A filter as the client writes it (``POST /user/{userId}/filter``, inline in
    ``/sync``); :func:`compile_filter` makes the :class:`Filter` that is applied."""

    event_format: str | None = None
    event_fields: Strings | None = None
    presence: EventFilterDefinition | None = None
    account_data: EventFilterDefinition | None = None
    room: RoomFilterDefinition | None = None

    def __post_init__(self) -> None:
        # Checked here rather than as a Literal: Synapse answers M_BAD_JSON for it.
        if self.event_format not in (None, "client", "federation"):
            raise ValueError("event_format must be 'client' or 'federation'")

    def to_json(self) -> dict[str, Any]:
        """The definition as JSON (what was given, without null fields)."""
        encoded: dict[str, Any] = msgspec.to_builtins(self)
        return encoded


def compile_event_filter(d: EventFilterDefinition | None) -> EventFilter:
    """The event filter a definition describes (also ``/messages``' and ``/context``'
    ``filter`` parameter, a RoomEventFilter), with the spec's defaults filled in."""
    if d is None:
        return EventFilter()
    return EventFilter(
        limit=d.limit, types=d.types, not_types=d.not_types or (), senders=d.senders,
        not_senders=d.not_senders or (), rooms=d.rooms, not_rooms=d.not_rooms or (),
        contains_url=d.contains_url, lazy_load_members=bool(d.lazy_load_members),
        include_redundant_members=bool(d.include_redundant_members),
        unread_thread_notifications=bool(d.unread_thread_notifications),
    )


def compile_filter(d: FilterDefinition) -> Filter:
    """The filter a definition describes, with the spec's defaults filled in."""
    room = d.room or RoomFilterDefinition()
    return Filter(
        event_format=d.event_format or "client",
        event_fields=d.event_fields,
        presence=compile_event_filter(d.presence),
        account_data=compile_event_filter(d.account_data),
        room=RoomFilter(
            rooms=room.rooms, not_rooms=room.not_rooms or (),
            include_leave=bool(room.include_leave),
            timeline=compile_event_filter(room.timeline), state=compile_event_filter(room.state),
            ephemeral=compile_event_filter(room.ephemeral),
            account_data=compile_event_filter(room.account_data),
        ),
    )


def parse_filter(value: Any) -> Filter:
    """Validate a filter definition given as JSON; raises :class:`FilterError` naming the
    bad field."""
    try:
        definition = msgspec.convert(value, FilterDefinition, strict=True)
    except msgspec.ValidationError as e:
        raise FilterError(str(e)) from e
    return compile_filter(definition)


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
