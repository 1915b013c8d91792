"""The ``state`` section of a ``/sync`` room: what the client needs, besides the timeline,
to know the room's state — never an event the timeline already holds.

For a room the client already has (an incremental sync), that is the keys that changed
since its token whose value at the start or the end of the timeline differs from what the
client had and that the timeline does not carry itself (a filtered or limited timeline
leaves some out). For a room new to the client, it is the whole state at the start of the
timeline plus what changed later outside the timeline. Synapse computes the same sets.

Lazy-loading members (``lazy_load_members``) keeps only the member events of the
timeline's senders (and the user's own on a full-state sync). Unless the filter asks for
``include_redundant_members``, a member event this device was already sent is not sent
again: which ones were sent is remembered per device in a bounded in-memory table (a
device served by another process, or after a restart, gets some again: redundant, not
wrong — the client just sees a member event it has).
"""

from __future__ import annotations

from collections import OrderedDict

from glia.protocol.filters import EventFilter
from glia.services.events import StoredEvent
from glia.storage import Storage
from glia.storage.state import StateKey

MEMBER = "m.room.member"
#: How many devices' sent member events are remembered, and how many per device.
MAX_DEVICES = 2_000
MAX_MEMBERS_PER_DEVICE = 10_000

Device = tuple[str, str]


class SentMembers:
    """Per device: the member event last sent for each (room, user)."""

    def __init__(self, max_devices: int = MAX_DEVICES,
                 max_members: int = MAX_MEMBERS_PER_DEVICE) -> None:
        self._devices: OrderedDict[Device, OrderedDict[tuple[str, str], str]] = OrderedDict()
        self._max_devices = max_devices
        self._max_members = max_members

    def forget(self, device: Device) -> None:
        """A sync without a token starts over: the client has nothing."""
        self._devices.pop(device, None)

    def sent(self, device: Device, room_id: str, user_id: str) -> str | None:
        members = self._devices.get(device)
        return None if members is None else members.get((room_id, user_id))

    def remember(self, device: Device, room_id: str, user_id: str, event_id: str) -> None:
        members = self._devices.get(device)
        if members is None:
            members = self._devices[device] = OrderedDict()
            if len(self._devices) > self._max_devices:
                self._devices.popitem(last=False)
        self._devices.move_to_end(device)
        members[(room_id, user_id)] = event_id
        members.move_to_end((room_id, user_id))
        if len(members) > self._max_members:
            members.popitem(last=False)


class StateSection:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._sent = SentMembers()

    def start_over(self, device: Device) -> None:
        self._sent.forget(device)

    async def events(self, device: Device, room_id: str, *, since: int | None,
                     upto: int, timeline: list[StoredEvent], state_filter: EventFilter
                     ) -> list[StoredEvent]:
        """The state section for a timeline over (since, upto]; ``since`` None means
        the room is new to the client (full state)."""
        state = self._storage.state
        start = timeline[0].stream_ordering - 1 if timeline else upto
        lazy = state_filter.lazy_load_members
        senders = {e.sender for e in timeline}
        if since is None:
            start_ids = await state.ids_at(room_id, start)
            later = await state.keys_changed(room_id, start, upto)
            end_ids = await state.ids_at(room_id, upto, sorted(later)) if later else {}
            previous: dict[StateKey, str] = {}
            wanted = senders | {device[0]}
        else:
            keys: set[StateKey] = set(await state.keys_changed(room_id, since, upto))
            if lazy:
                keys |= {(MEMBER, s) for s in senders}
            if not keys:
                return []
            ordered = sorted(keys)
            start_ids = await state.ids_at(room_id, start, ordered)
            end_ids = await state.ids_at(room_id, upto, ordered)
            previous = await state.ids_at(room_id, since, ordered)
            wanted = senders
        in_timeline = {e.event_id for e in timeline}
        picked: dict[str, StateKey] = {}
        for ids in (start_ids, end_ids):
            for key, event_id in ids.items():
                if lazy and key[0] == MEMBER and key[1] not in wanted:
                    continue
                sent_before = previous.get(key) == event_id and not (
                    lazy and key[0] == MEMBER and key[1] in senders)
                if event_id not in in_timeline and not sent_before:
                    picked[event_id] = key
        if lazy and not state_filter.include_redundant_members:
            picked = {event_id: key for event_id, key in picked.items()
                      if key[0] != MEMBER
                      or self._sent.sent(device, room_id, key[1]) != event_id}
        events = await self._storage.events.get_many(list(picked))
        out = sorted((e for e in events.values() if state_filter.allows(e.pdu)),
                     key=lambda e: e.stream_ordering)
        if lazy:
            for event in (*out, *timeline):
                if event.type == MEMBER and event.state_key is not None:
                    self._sent.remember(device, room_id, event.state_key, event.event_id)
        return out
