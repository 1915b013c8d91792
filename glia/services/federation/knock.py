"""Knocking across servers: ``make_knock`` / ``send_knock`` (v1) both ways.

As the room's resident server, a knock is a membership event like a join
(:class:`ResidentMemberships` builds the template from our current state and checks it
against the room's auth rules — join rule ``knock`` or ``knock_restricted``, a room
version that has them, no ban — then checks, signs and writes the signed event); the
answer to ``send_knock`` is the room's state that lets the knocker recognise it
(``knock_room_state``: full events of the recommended stripped-state types, the create
event among them, as the spec asks since v1.16).

Our user knocking on a room this server is not in: ``make_knock`` at the first server
that answers (the client's ``via``, the alias's servers, the room ID's server), sign,
``send_knock``, then keep the knock — signed by us only, as ``send_knock`` does not
return the resident's copy — as the room's only state here, so it shows in ``/sync``
under ``knock``. The server that took the knock is remembered, so rescinding it
(``/leave``) goes back there with ``make_leave`` / ``send_leave``; an invite that answers
the knock arrives like any invite, and joining then goes through the inviting server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import msgspec

from glia import errors
from glia.clock import Clock
from glia.ids import InvalidId, server_name_of
from glia.protocol.stripped_state import stripped_events
from glia.services.events import EventsService
from glia.services.federation.invites import STRIPPED_TYPES
from glia.services.federation.remote_join import RemoteMemberships
from glia.services.federation.resident import MembershipTemplate, ResidentMemberships
from glia.storage import Storage, Stores
from glia.storage.events import StoredEvent

__all__ = ["Knocks", "SendKnockResult"]


class SendKnockResult(msgspec.Struct, frozen=True):
    """The answer of ``send_knock``."""

    knock_room_state: list[dict[str, Any]]


class Knocks:
    def __init__(self, server_name: str, storage: Storage, events: EventsService,
                 resident: ResidentMemberships, remote: RemoteMemberships,
                 clock: Clock) -> None:
        self._server_name = server_name
        self._storage = storage
        self._events = events
        self._resident = resident
        self._remote = remote
        self._clock = clock

    # -- as the resident server -----------------------------------------------------------

    async def make_knock(self, origin: str, room_id: str, user_id: str,
                         versions: Sequence[str]) -> MembershipTemplate:
        """``make_knock``: the knock template, if the room's rules would allow it."""
        return await self._resident.make(origin, room_id, user_id, "knock", versions)

    async def send_knock(self, origin: str, room_id: str, event_id: str,
                         pdu: dict[str, Any]) -> SendKnockResult:
        """``send_knock``: check, sign and write the knock; answer the room's state."""
        await self._resident.send(origin, room_id, event_id, pdu, "knock")
        ids = await self._storage.state.current_ids(room_id,
                                                    [(t, "") for t in STRIPPED_TYPES])
        found = await self._storage.events.get_many(list(ids.values()))
        return SendKnockResult([e.pdu for e in sorted(found.values(),
                                                      key=lambda e: e.stream_ordering)])

    # -- our users knocking elsewhere -----------------------------------------------------

    async def knock_remote(self, user_id: str, room_id: str, servers: Sequence[str],
                           content: dict[str, Any]) -> None:
        """Knock through the first of ``servers`` that takes it (the last refusal is
        raised if none does)."""
        await self._remote.through_first(
            servers, lambda server: self._knock_via(server, user_id, room_id, content),
            f"knocking on {room_id}")

    async def _knock_via(self, server: str, user_id: str, room_id: str,
                         content: dict[str, Any]) -> None:
        version, event_id, knock = await self._remote.make_event(
            server, "knock", user_id, room_id, content)
        if not version.knock_join_rule:
            raise errors.forbidden(f"Room version {version.identifier} has no knocking")
        answer = await self._remote.ask(server, "PUT", f"/_matrix/federation/v1/send_knock/"
                                        f"{quote(room_id)}/{quote(event_id)}", knock)
        state = answer.get("knock_room_state")
        creators = [str(e.get("sender")) for e in (state if isinstance(state, list) else [])
                    if isinstance(e, dict) and e.get("type") == "m.room.create"]
        creator = creators[0] if creators else user_id

        async def write(tx: Stores) -> list[StoredEvent]:
            await tx.federation_knocks.put(room_id, user_id, server, self._clock.now_ms())
            if await tx.events.get(event_id) is not None:
                return []
            await tx.stripped_state.put(event_id, room_id, stripped_events(state))
            return [await self._events.persist_received(
                tx, room_id, version, knock, event_id, in_state=True, extremities=[])]

        await self._events.write_received(room_id, version, write, new_room_creator=creator)

    async def rescind_remote(self, user_id: str, room_id: str,
                             content: dict[str, Any]) -> None:
        """Withdraw a knock on a room this server is not in, through the server that
        took it (else the room ID's server)."""
        server = await self._storage.federation_knocks.server_of(room_id, user_id)
        if server is None:
            try:
                server = server_name_of(room_id)
            except InvalidId as e:
                raise errors.not_found("No known server to withdraw the knock at") from e
        await self._remote.leave_via(server, user_id, room_id, content)
        await self._storage.federation_knocks.delete(room_id, user_id)
