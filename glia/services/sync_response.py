"""The shape of a ``/sync`` response, section by section (the spec's ``/sync`` answer).

Events stay free-form JSON (``dict``): each is built once in the client format and sent
as it is. Sections the spec leaves out when empty or unknown default to ``UNSET`` (or an
empty collection with ``omit_defaults``), so they are absent rather than ``null``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

Event = dict[str, Any]


class Events(msgspec.Struct):
    events: list[Event]


class Timeline(msgspec.Struct):
    events: list[Event]
    limited: bool
    #: A ``/messages`` token just before the first event.
    prev_batch: str


class RoomSummary(msgspec.Struct, kw_only=True):
    joined_member_count: int = msgspec.field(name="m.joined_member_count")
    invited_member_count: int = msgspec.field(name="m.invited_member_count")
    #: Only when the room has neither a name nor a canonical alias.
    heroes: list[str] | UnsetType = msgspec.field(default=UNSET, name="m.heroes")


class UnreadNotifications(msgspec.Struct):
    notification_count: int
    highlight_count: int


class LeftRoom(msgspec.Struct):
    timeline: Timeline
    state: Events
    account_data: Events


class JoinedRoom(msgspec.Struct, kw_only=True):
    timeline: Timeline
    state: Events
    account_data: Events
    ephemeral: Events
    #: Only on a newly joined room or when membership changed in this response.
    summary: RoomSummary | UnsetType = UNSET
    unread_notifications: UnreadNotifications


class InvitedRoom(msgspec.Struct):
    invite_state: Events


class KnockedRoom(msgspec.Struct):
    knock_state: Events


class Rooms(msgspec.Struct, omit_defaults=True):
    """Rooms by membership; a membership with no room in this response is left out."""

    join: dict[str, JoinedRoom] = {}
    invite: dict[str, InvitedRoom] = {}
    leave: dict[str, LeftRoom] = {}
    knock: dict[str, KnockedRoom] = {}

    def __bool__(self) -> bool:
        return bool(self.join or self.invite or self.leave or self.knock)


class DeviceLists(msgspec.Struct):
    """Users whose devices changed (``changed``), or who share no room any more with the
    requester (``left``), over a span of the stream."""

    changed: list[str]
    left: list[str]


class DeviceSection(msgspec.Struct):
    """The per-device part of a ``/sync`` response."""

    to_device: Events
    device_lists: DeviceLists
    device_one_time_keys_count: dict[str, int]
    device_unused_fallback_key_types: list[str]

    def carries_news(self) -> bool:
        return bool(self.to_device.events or self.device_lists.changed
                    or self.device_lists.left)


class SyncResponse(msgspec.Struct):
    next_batch: str
    rooms: Rooms
    account_data: Events
    presence: Events
    to_device: Events
    device_lists: DeviceLists
    device_one_time_keys_count: dict[str, int]
    device_unused_fallback_key_types: list[str]
