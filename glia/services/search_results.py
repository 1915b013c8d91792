"""The shape of a ``POST /search`` answer (the spec's ``ResultRoomEvents`` and friends).

Events are the client format's free-form JSON; what the request did not ask for
(context, state, groups) or what does not apply (``next_batch``) is left out.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from glia.services.event_format import ClientEvent


class SenderProfile(msgspec.Struct, frozen=True):
    """A sender's name and avatar as their membership event had them then (as given)."""

    displayname: Any
    avatar_url: Any


class EventContext(msgspec.Struct, kw_only=True):
    """Events around a result, with ``/messages`` tokens; everything is absent (``{}``)
    when the request asked for no context."""

    events_before: list[ClientEvent] | UnsetType = UNSET
    events_after: list[ClientEvent] | UnsetType = UNSET
    start: str | UnsetType = UNSET
    end: str | UnsetType = UNSET
    profile_info: dict[str, SenderProfile] | UnsetType = UNSET


class SearchResult(msgspec.Struct):
    rank: float
    result: ClientEvent
    context: EventContext


class Group(msgspec.Struct, kw_only=True):
    """The results of one room or sender; ``order`` is where it first appears."""

    results: list[str]
    order: int
    next_batch: str | UnsetType = UNSET


class RoomEvents(msgspec.Struct, kw_only=True):
    results: list[SearchResult]
    count: int
    highlights: list[str]
    next_batch: str | UnsetType = UNSET
    #: Room ID → its state (what the user last saw of it), if asked.
    state: dict[str, list[ClientEvent]] | UnsetType = UNSET
    #: ``room_id``/``sender`` → value → group, if asked.
    groups: dict[str, dict[str, Group]] | UnsetType = UNSET


class SearchCategories(msgspec.Struct):
    #: Absent when the request named no category this server searches.
    room_events: RoomEvents | UnsetType = UNSET


class SearchResults(msgspec.Struct):
    search_categories: SearchCategories
