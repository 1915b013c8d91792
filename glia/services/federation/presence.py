"""Presence across servers: ``m.presence`` EDUs both ways (``federation.presence``).

Outbound: each presence change of one of our users goes to every server with a user
joined to a room the user is joined to (``{"push": [{user_id, presence,
last_active_ago, currently_active, status_msg}]}``); an unchanged online presence is
repeated every :data:`PING_INTERVAL_MS`, so the other servers, which time a silent
user out (Synapse after 30 minutes, Glia too), keep them online. When a server newly
shares a room with us (one of its users joins), it is sent the presence of our users in
the room, and our newly joined user's presence goes to the room's servers.

Inbound: entries about the origin's own users are kept like our users' presence, so
our clients sharing a room with them see them in ``/sync`` and
``GET /presence/{userId}/status``; entries about anyone else are ignored.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from glia.clock import Clock
from glia.ids import InvalidId, server_name_of
from glia.services.event_fanout import WrittenEvent
from glia.services.federation.sender import FederationSender
from glia.services.presence import MAX_STATUS_LENGTH, STATES, PresenceService
from glia.storage import Storage
from glia.storage.presence import Presence

__all__ = ["FederatedPresence"]

logger = logging.getLogger(__name__)

#: How often an unchanged online presence is sent again (Synapse: 25 minutes).
PING_INTERVAL_MS = 25 * 60_000
_PAGE = 500
#: Entries per EDU when a server is told of many users at once (a transaction's size
#: stays well under the spec's limit).
_PER_EDU = 50
#: (destination, user) pairs whose latest queued presence stream is remembered.
_REMEMBERED = 100_000


def _server(user_id: object) -> str | None:
    try:
        return server_name_of(user_id) if isinstance(user_id, str) else None
    except InvalidId:
        return None


class FederatedPresence:
    def __init__(self, server_name: str, enabled: bool, storage: Storage,
                 sender: FederationSender, presence: PresenceService,
                 clock: Clock) -> None:
        self._server_name = server_name
        self._enabled = enabled
        self._storage = storage
        self._sender = sender
        self._presence = presence
        self._clock = clock
        self._queued: OrderedDict[tuple[str, str], int] = OrderedDict()

    async def changed(self, user_id: str) -> None:
        """The user's presence was written: pass it on if they are ours."""
        if not self._enabled or _server(user_id) != self._server_name:
            return
        current = await self._storage.presence.get(user_id)
        if current is None:
            return
        destinations: set[str] = set()
        for member in await self._storage.state.rooms_of_user(user_id, ["join"]):
            destinations |= await self._sender.room_servers(member.room_id)
        if not destinations:
            return
        entry = msgspec.to_builtins(PresenceService.content(current, self._clock.now_ms()))
        for destination in sorted(destinations):
            self._send(destination, [(current, {"user_id": user_id, **entry})])

    # -- event-pipeline subscriber: presence for servers that newly share a room --------

    name = "federation_presence"

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        """A join: our joining user's presence goes to the room's servers; another
        server's joining user's server gets the presence of our users in the room
        (it had no reason to hear of them before)."""
        if not self._enabled:
            return
        for written in events:
            event = written.event
            if event.type != "m.room.member" or event.state_key is None \
                    or event.content.get("membership") != "join":
                continue
            server = _server(event.state_key)
            if server == self._server_name:
                await self.changed(event.state_key)
            elif server is not None:
                await self._tell_of_room(server, event.room_id)

    async def _tell_of_room(self, destination: str, room_id: str) -> None:
        ours = [m.user_id for m in await self._storage.state.members_at(room_id, None,
                                                                        ["join"])
                if _server(m.user_id) == self._server_name]
        now = self._clock.now_ms()
        self._send(destination, [
            (p, {"user_id": p.user_id, **msgspec.to_builtins(PresenceService.content(p, now))})
            for p in await self._storage.presence.of_users(ours) if p.state != "offline"])

    def _send(self, destination: str, entries: list[tuple[Presence, dict[str, Any]]]) -> None:
        """Queue ``entries`` for ``destination``, but an entry older (by presence
        stream) than one already queued for the same user there: two readers of
        presence can queue in another order than they read (a join's subscriber and
        the user's own update), and a stale entry sent last would win on the other
        side. What was queued is remembered for the :data:`_REMEMBERED` latest pairs."""
        fresh = []
        for p, entry in entries:
            key = (destination, p.user_id)
            if self._queued.get(key, p.stream) > p.stream:
                continue
            self._queued[key] = p.stream
            self._queued.move_to_end(key)
            fresh.append(entry)
        while len(self._queued) > _REMEMBERED:
            self._queued.popitem(last=False)
        for at in range(0, len(fresh), _PER_EDU):
            self._sender.send_edu_to([destination], "m.presence",
                                     {"push": fresh[at:at + _PER_EDU]})

    # -- inbound --------------------------------------------------------------------------

    async def receive(self, origin: str, content: Mapping[str, Any]) -> None:
        """An ``m.presence`` EDU from ``origin``."""
        push = content.get("push")
        if not self._enabled or not isinstance(push, list):
            return
        for entry in push:
            if not isinstance(entry, Mapping):
                continue
            user_id, state = entry.get("user_id"), entry.get("presence")
            if _server(user_id) != origin or state not in STATES:
                continue
            assert isinstance(user_id, str)
            # Kept even before we share a room with them: the resident server of a
            # room we just joined sends its users' presence while we still write the
            # room's state. Only users sharing a room with a reader are shown.
            ago = entry.get("last_active_ago")
            status = entry.get("status_msg")
            await self._presence.set_remote(
                user_id, str(state),
                status if isinstance(status, str) and len(status) <= MAX_STATUS_LENGTH
                else None,
                ago if isinstance(ago, int) and not isinstance(ago, bool) and
                0 <= ago <= 2**53 - 1 else None,
                entry.get("currently_active") is True)

    async def ping(self) -> int:
        """Send the presence of each of our users who is online again; how many."""
        after, sent = "", 0
        while True:
            page = await self._storage.presence.online_of_server(self._server_name, after,
                                                                 _PAGE)
            for p in page:
                await self.changed(p.user_id)
            sent += len(page)
            if len(page) < _PAGE:
                return sent
            after = page[-1].user_id

    async def run(self) -> None:
        """Ping every :data:`PING_INTERVAL_MS`; runs until cancelled."""
        if not self._enabled:
            return
        while True:
            await self._clock.sleep(PING_INTERVAL_MS / 1000)
            try:
                await self.ping()
            except Exception:
                logger.exception("presence ping failed")
