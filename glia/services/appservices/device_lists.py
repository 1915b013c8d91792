"""MSC3202 for encrypted bridges (services registered with ``org.matrix.msc3202``):
whose device lists a service follows, the users it stops following
(``device_lists.left``). (The key counts each transaction carries are computed where
the transaction is built, in ``sender.py``.)

A service follows a user's device list when it owns the user, or when one of the
user's joined rooms is one of its rooms (a member, alias or room ID in its namespaces,
the rule of :func:`~glia.services.appservices.sender.room_is_services`). The same rule
decides ``changed`` and ``left``, so a user is reported gone exactly when no longer
followed.
"""

from __future__ import annotations

from collections.abc import Sequence

from glia.services.appservices.registrations import AppService, AppServices
from glia.services.appservices.sender import (
    AppServiceSender,
    room_interest,
    room_is_services,
)
from glia.services.event_fanout import WrittenEvent
from glia.storage import Storage
from glia.storage.appservices import QueuedItem


async def followers(storage: Storage, services: Sequence[AppService], user_id: str,
                    rooms: Sequence[str]) -> list[AppService]:
    """Those of ``services`` following ``user_id``'s device list, given the user's
    joined ``rooms``."""
    found = {s.id: s for s in services if s.owns_user(user_id)}
    for room_id in rooms:
        if len(found) == len(services):
            break
        members, aliases = await room_interest(storage, room_id)
        for service in services:
            if service.id not in found and \
                    room_is_services(service, room_id, members, aliases):
                found[service.id] = service
    return list(found.values())


async def joined_rooms(storage: Storage, user_id: str) -> list[str]:
    return [room for room, membership in
            (await storage.keys.rooms_with_membership(user_id)).items()
            if membership == "join"]


class DeviceListLeaves:
    """The fan-out subscriber that reports ``left``: after a membership leaves
    ``join`` (or a service's user leaves ``invite``), the users the service no longer
    follows. Runs after :class:`~glia.services.appservices.sender.AppServiceQueue`, so
    the leave event comes first in the service's queue."""

    name = "appservice_device_lists"

    def __init__(self, storage: Storage, services: AppServices,
                 sender: AppServiceSender) -> None:
        self._storage = storage
        self._services = [s for s in services.all if s.url and s.device_lists]
        self._sender = sender

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        if not self._services:
            return
        items: list[QueuedItem] = []
        for written in events:
            event = written.event
            target = event.state_key
            if event.type != "m.room.member" or target is None \
                    or event.content.get("membership") == "join":
                continue
            before = event.unsigned.get("prev_content", {}).get("membership") \
                if "replaces_state" in event.unsigned else None
            if before not in ("join", "invite"):
                continue
            members, aliases = await room_interest(self._storage, event.room_id)
            joined: set[str] | None = None
            for service in self._services:
                if room_is_services(service, event.room_id, members, aliases):
                    # Still its room: only the one who left may have gone out of sight.
                    candidates = {target} if before == "join" else set()
                elif service.owns_user(target):
                    # Its user left a room that was its only because of them: everyone
                    # still there may have gone out of sight.
                    if joined is None:
                        joined = await self._storage.keys.joined_members([event.room_id])
                    candidates = joined
                else:
                    continue
                for user_id in sorted(candidates):
                    rooms = await joined_rooms(self._storage, user_id)
                    if not await followers(self._storage, [service], user_id, rooms):
                        items.append(QueuedItem(service.id, "device_lists",
                                                {"left": user_id}))
        if items:
            await self._sender.enqueue(items)

