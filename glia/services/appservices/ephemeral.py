"""What application services get besides room events: typing, read receipts and presence
(for services registered with ``receive_ephemeral`` or MSC2409's
``de.sorunome.msc2409.push_ephemeral``), to-device messages for their users (with
``org.matrix.msc2409.push_to_device``), and the users whose device lists changed (with
``org.matrix.msc3202``; ``left``, the users out of sight, comes from ``device_lists.py``).

The typing, receipt, presence and to-device services call in here after their own
writes; the items join the same persisted queue as events, in the order they happened.
To-device messages are queued in the transaction that stores them, so they are as
durable as the inbox; typing, receipts and presence are queued after their commit, as
the momentary signals they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from glia.clock import Clock
from glia.services.appservices.device_lists import followers
from glia.services.appservices.registrations import AppService, AppServices
from glia.services.appservices.sender import (
    AppServiceSender,
    room_interest,
    room_is_services,
)
from glia.storage import Storage, Stores
from glia.storage.appservices import QueuedItem

#: Presence last sent per user (state, status message): a sync refreshes presence
#: without changing it, and a service wants changes, not heartbeats.
_PRESENCE_CACHE_LIMIT = 100_000


class AppServiceEphemeral:
    def __init__(self, storage: Storage, services: AppServices, sender: AppServiceSender,
                 clock: Clock) -> None:
        self._storage = storage
        self._ephemeral = [s for s in services.all if s.url and s.receive_ephemeral]
        self._to_device = [s for s in services.all if s.url and s.receive_to_device]
        self._device_lists = [s for s in services.all if s.url and s.device_lists]
        self._sender = sender
        self._clock = clock
        self._last_presence: dict[str, tuple[str, str | None]] = {}

    async def _interested(self, room_id: str) -> list[AppService]:
        if not self._ephemeral:
            return []
        members, aliases = await room_interest(self._storage, room_id)
        return [s for s in self._ephemeral
                if room_is_services(s, room_id, members, aliases)]

    async def _queue(self, services: Sequence[AppService], edu: dict[str, Any]) -> None:
        if services:
            await self._sender.enqueue([QueuedItem(s.id, "ephemeral", edu) for s in services])

    async def typing(self, room_id: str) -> None:
        """Someone started or stopped typing in the room: its ``m.typing`` now."""
        services = await self._interested(room_id)
        if services:
            typing = await self._storage.typing.typing_in(room_id, self._clock.now_ms())
            await self._queue(services, {"type": "m.typing", "room_id": room_id,
                                         "content": {"user_ids": typing}})

    async def receipt(self, room_id: str, user_id: str, receipt_type: str, event_id: str,
                      ts: int) -> None:
        """A public read receipt moved (private ones are nobody else's business)."""
        await self._queue(await self._interested(room_id), {
            "type": "m.receipt", "room_id": room_id,
            "content": {event_id: {receipt_type: {user_id: {"ts": ts}}}}})

    async def presence(self, user_id: str, rooms: Sequence[str]) -> None:
        """The user's presence was written; services sharing one of ``rooms`` with
        them (or owning them) hear of a change."""
        if not self._ephemeral:
            return
        current = await self._storage.presence.get(user_id)
        if current is None:
            return
        key = (current.state, current.status_msg)
        if self._last_presence.get(user_id) == key:
            return
        if len(self._last_presence) >= _PRESENCE_CACHE_LIMIT:
            self._last_presence.clear()
        self._last_presence[user_id] = key
        services = {s.id: s for s in self._ephemeral if s.owns_user(user_id)}
        for room_id in rooms:
            for service in await self._interested(room_id):
                services.setdefault(service.id, service)
        content: dict[str, Any] = {
            "presence": current.state,
            "last_active_ago": max(0, self._clock.now_ms() - current.last_active_ts)}
        if current.status_msg is not None:
            content["status_msg"] = current.status_msg
        await self._queue(list(services.values()),
                          {"type": "m.presence", "sender": user_id, "content": content})

    async def device_list_changed(self, user_id: str, rooms: Sequence[str]) -> None:
        """MSC3202: ``user_id``'s devices or keys changed; the services following the
        user's device list (see ``device_lists.py``; ``rooms``: the user's joined rooms)
        hear of it."""
        if not self._device_lists:
            return
        services = await followers(self._storage, self._device_lists, user_id, rooms)
        if services:
            await self._sender.enqueue([QueuedItem(s.id, "device_lists", {"changed": user_id})
                                        for s in services])

    async def to_device_in(self, tx: Stores, sender: str, event_type: str,
                           messages: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        """In the transaction storing them: the to-device messages (user, device,
        content) addressed to services' users."""
        items = [QueuedItem(s.id, "to_device", {
            "sender": sender, "type": event_type, "content": content,
            "to_user_id": user_id, "to_device_id": device_id})
            for user_id, device_id, content in messages
            for s in self._to_device if s.owns_user(user_id)]
        if items:
            await self._sender.enqueue_in(tx, items)
