"""The event-write pipeline: the single writer of room events, readable top to bottom.

Everything that creates events — the client API, admin operations, server notices —
goes through :meth:`EventsService.send` (or :meth:`~EventsService.create_room`
for a new room's first events). Each event passes the same stages:

1. **moderate** — a suspended sender may only leave and redact their own events; a
   shadow-banned sender's event is made up and never stored
   (``services/event_moderation.py``);
2. **select auth events** from the room's current state, inside one transaction that
   first takes the room's lock, so two writers can never fork a room's graph;
3. **build** the PDU and **check its JSON** against the room version's rules (v6+:
   canonical JSON, so no floats and no integers beyond ±(2**53 − 1)), then sign it;
4. **authorise** it against those auth events (the spec's auth rules);
5. **persist** the event, its state change, its stream position, the room's forward
   extremity, an applied redaction and the room statistics counters, and record it in
   the outbox (``services/event_fanout.py``) — all in that one transaction;
6. **publish**, after the commit, to the subscribers named in ``build_services``
   (search index, push, ``/sync`` wake-ups, the federation sender …). A failing
   subscriber never fails the write: the outbox row stays and it is retried.

Events other servers built, checked by ``services/federation``, enter at stage 5
(:meth:`EventsService.write_received`) and are published the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from signedjson.types import SigningKey

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import AuthRuleError, MatrixError
from glia.ids import random_string
from glia.protocol import auth_rules
from glia.protocol.canonical_json import event_json_error
from glia.protocol.events import (
    build_event,
    compute_event_id,
    redacts_of,
    room_id_for_v12_create,
    size_limit_error,
)
from glia.protocol.room_versions import RoomVersion, get_room_version
from glia.protocol.signing import sign_event
from glia.services.event_checks import check_new_event, check_redaction_power
from glia.services.event_fanout import EventFanout, WrittenEvent
from glia.services.event_format import client_event
from glia.services.event_moderation import is_invite, moderate, suspended_error
from glia.services.redaction import apply_redaction
from glia.services.room_tip import RoomTip
from glia.storage import Storage, Stores
from glia.storage.events import NewEvent, StoredEvent
from glia.storage.rooms import Room

__all__ = ["EventRequest", "EventsService", "PersistStep", "StoredEvent", "client_event"]

logger = logging.getLogger(__name__)

#: The invites of a new room are written this many to a transaction (the first ones
#: with the room itself), each committed and published before the next begins: other
#: writers take their turn between two (SQLite has one writer), and a room created
#: with thousands of invites holds the writer for one batch at a time.
INVITES_PER_TRANSACTION = 100


class PersistStep(Protocol):
    """Work that must commit with each event, in its transaction: counters, which a
    retry could not redo safely (room statistics)."""

    async def apply(self, tx: Stores, event: StoredEvent) -> None: ...


@dataclass(frozen=True)
class EventRequest:
    """One event a caller wants written."""

    sender: str
    event_type: str
    content: Mapping[str, Any]
    state_key: str | None = None
    redacts: str | None = None
    #: (device_id, txn_id) for idempotent sends.
    txn: tuple[str, str] | None = None
    #: Written by the server for an admin (a profile reset, the user-redaction job): the
    #: sender's suspension and shadow-ban do not apply.
    by_admin: bool = False
    #: An application service's ``ts`` (a bridged message's time); None: now.
    origin_server_ts: int | None = None


class EventsService:
    def __init__(self, config: Config, storage: Storage, signing_key: SigningKey, *,
                 persist_steps: Sequence[PersistStep], fanout: EventFanout) -> None:
        self._config = config
        self._storage = storage
        self._key = signing_key
        self._persist_steps = list(persist_steps)
        self._fanout = fanout

    @property
    def server_name(self) -> str:
        return self._config.server_name

    async def room(self, room_id: str) -> tuple[Room, RoomVersion]:
        room = await self._storage.rooms.get(room_id)
        if room is None:
            raise errors.not_found("Unknown room")
        version = get_room_version(room.room_version)
        assert version is not None, room.room_version
        return room, version

    async def send(self, room_id: str, request: EventRequest) -> StoredEvent:
        """Write one event to an existing room (idempotent when ``request.txn`` is given)."""
        if not request.by_admin:
            fake = await moderate(self._storage, room_id, request)
            if fake is not None:
                return fake
        async with self._storage.transaction() as tx:
            await tx.rooms.lock(room_id)
            if request.txn is not None:
                earlier = await tx.events.by_txn(request.sender, *request.txn)
                if earlier is not None:
                    return earlier
            room = await tx.rooms.get(room_id)
            if room is None:
                raise errors.not_found("Unknown room")
            version = get_room_version(room.room_version)
            assert version is not None
            event = await self._append(tx, room_id, version, request)
            await self._fanout.record(tx, [event])
            # Readers see the event only once push and search have it (publish says when).
            visible = tx.keep_in_flight()
        await self._publish([event], version, visible)
        return event

    async def create_room(self, creator: str, version: RoomVersion,
                          create_content: Mapping[str, Any],
                          later: Callable[[str], list[EventRequest]],
                          alias: str | None = None,
                          in_tx: Callable[[Stores, str], Awaitable[None]] | None = None,
                          room_id: str | None = None,
                          invites: Sequence[EventRequest] = (),
                          ) -> tuple[str, list[StoredEvent]]:
        """Create a room: the create event, then the ``later(room_id)`` events, and the
        alias if any, all in one transaction (a failure leaves no half-made room); then
        ``invites``, :data:`INVITES_PER_TRANSACTION` at a time, the first batch in the
        room's transaction (so a room with a few invites is one transaction). A failure
        in a later batch leaves the room with the invites written before it, as
        invites sent one by one after the room was made would.
        ``in_tx(tx, room_id)`` joins that transaction (a job recording the room it made).
        ``room_id`` is one chosen beforehand by :meth:`new_room_id` (a room upgrade names
        the replacement in the old room's tombstone first), for versions whose room ID is
        not the create event's hash."""
        suspended, shadow_banned = await self._storage.admin_users.restrictions(creator)
        if suspended:
            raise suspended_error()
        async with self._storage.transaction() as tx:
            now = now_ms()
            request = EventRequest(creator, "m.room.create", create_content, state_key="")
            chosen = room_id
            if chosen is not None and version.room_id_is_create_hash:
                raise ValueError("a v12+ room ID is the create event's hash, not chosen")
            while True:
                room_id = chosen or (
                    None if version.room_id_is_create_hash else self.new_room_id())
                create = self._build(version, room_id, request, [], [], 1, now)
                event_id = self._event_id(create, version)
                if room_id is None:
                    room_id = room_id_for_v12_create(event_id)
                await tx.rooms.lock(room_id)
                if await tx.rooms.get(room_id) is None:
                    break
                if chosen is not None:
                    raise MatrixError(400, "M_ROOM_IN_USE", f"Room {chosen} already exists")
                # Room IDs derived from the create event (v12) collide when the same
                # creator makes two rooms with the same content in one millisecond;
                # a later timestamp gives a different create event and room ID.
                now += 1
            await tx.rooms.create(room_id, version.identifier, creator, now)
            self._authorise(create, {}, version)
            written = [await self._persist(tx, room_id, version, create, event_id, 1, request)]
            if alias is not None and not await tx.directory.create_alias(
                    alias, room_id, creator, now):
                raise MatrixError(400, "M_ROOM_IN_USE", "Room alias already taken")
            # A shadow-banned creator's invitees are silently left out.
            initial = [r for r in later(room_id) if not (shadow_banned and is_invite(r))]
            invites = [] if shadow_banned else list(invites)
            tip = RoomTip()
            for follow_up in [*initial, *invites[:INVITES_PER_TRANSACTION]]:
                written.append(await self._append(tx, room_id, version, follow_up, tip))
            if in_tx is not None:
                await in_tx(tx, room_id)
            await self._fanout.record(tx, written)
            visible = tx.keep_in_flight()
        await self._publish(written, version, visible)
        for start in range(INVITES_PER_TRANSACTION, len(invites), INVITES_PER_TRANSACTION):
            written += await self._append_batch(
                room_id, version, invites[start:start + INVITES_PER_TRANSACTION])
        return room_id, written

    async def _append_batch(self, room_id: str, version: RoomVersion,
                            requests: Sequence[EventRequest]) -> list[StoredEvent]:
        """Write several events to a room in one transaction, then publish them."""
        async with self._storage.transaction() as tx:
            await tx.rooms.lock(room_id)
            tip = RoomTip()
            written = [await self._append(tx, room_id, version, r, tip) for r in requests]
            await self._fanout.record(tx, written)
            visible = tx.keep_in_flight()
        await self._publish(written, version, visible)
        return written

    async def _publish(self, written: Sequence[StoredEvent], version: RoomVersion,
                       visible: Callable[[], None]) -> None:
        try:
            await self._fanout.publish([WrittenEvent(e, version) for e in written], visible)
        finally:
            visible()

    async def write_received(self, room_id: str, version: RoomVersion,
                             write: Callable[[Stores], Awaitable[list[StoredEvent]]],
                             new_room_creator: str | None = None) -> list[StoredEvent]:
        """``write(tx)`` persists received events (:meth:`persist_received`) under the
        room's lock (``new_room_creator``: make the room first, for a remote join)."""
        async with self._storage.transaction() as tx:
            await tx.rooms.lock(room_id)
            if new_room_creator is not None and await tx.rooms.get(room_id) is None:
                await tx.rooms.create(room_id, version.identifier, new_room_creator, now_ms())
            written = await write(tx)
            await self._fanout.record(tx, written)
            visible = tx.keep_in_flight()
        await self._publish(written, version, visible)
        return written

    async def persist_received(self, tx: Stores, room_id: str, version: RoomVersion,
                               pdu: dict[str, Any], event_id: str, *, in_state: bool,
                               extremities: list[str]) -> StoredEvent:
        """Persist a checked received event; ``in_state``: it becomes current state;
        ``extremities``: the room's forward extremities after it."""
        state_key = pdu.get("state_key") if in_state else None
        request = EventRequest(str(pdu["sender"]), str(pdu["type"]), pdu.get("content", {}),
                               state_key=state_key if isinstance(state_key, str) else None,
                               redacts=redacts_of(pdu, version)
                               if pdu["type"] == "m.room.redaction" else None, by_admin=True)
        return await self._persist(tx, room_id, version, pdu, event_id,
                                   int(pdu["depth"]), request, extremities)

    def new_room_id(self) -> str:
        """A fresh random room ID on this server (room versions before 12)."""
        return f"!{random_string(18)}:{self.server_name}"

    async def prepare(self, room_id: str, request: EventRequest
                      ) -> tuple[RoomVersion, str, dict[str, Any]]:
        """(version, event ID, signed PDU) built and authorised but not written: an
        invite that the invitee's server signs before it is written."""
        _, version = await self.room(room_id)
        pdu, _ = await self._prepare(self._storage, room_id, version, request, RoomTip())
        return version, self._event_id(pdu, version), pdu

    async def _append(self, tx: Stores, room_id: str, version: RoomVersion,
                      request: EventRequest, tip: RoomTip | None = None) -> StoredEvent:
        """Select auth events, build, authorise and persist one event inside the
        caller's transaction, which holds the room's lock. Several events written in
        one transaction share a ``tip``: what the earlier ones read or wrote is not
        read again."""
        tip = tip or RoomTip()
        pdu, depth = await self._prepare(tx, room_id, version, request, tip)
        stored = await self._persist(tx, room_id, version, pdu,
                                     self._event_id(pdu, version), depth, request)
        tip.wrote(stored, redaction=request.redacts is not None)
        return stored

    async def _prepare(self, tx: Stores, room_id: str, version: RoomVersion,
                       request: EventRequest, tip: RoomTip) -> tuple[dict[str, Any], int]:
        """(the built, signed and authorised PDU, its depth)."""
        await check_new_event(tx, room_id, request.event_type, request.state_key,
                              request.redacts)
        if tip.prev is None:
            tip.prev = await tx.rooms.forward_extremities(room_id)
            tip.depth = await tx.events.max_depth(tip.prev)
        prev, depth = tip.prev, tip.depth + 1
        auth_types = auth_rules.auth_types_for_event(
            request.event_type, request.sender, request.state_key, request.content, version
        )
        auth_events = await tip.state_by_key(tx, room_id, [("m.room.create", ""),
                                                           *auth_types])
        auth_ids = {key: event.event_id for key, event in auth_events.items()}
        auth_state = {key: event.pdu for key, event in auth_events.items()}
        listed = [eid for key, eid in auth_ids.items()
                  if key != ("m.room.create", "") or version.create_in_auth_events]
        if request.redacts is not None and not request.by_admin:
            await check_redaction_power(tx, version, request.sender, request.redacts,
                                        auth_state)
        ts = now_ms() if request.origin_server_ts is None else request.origin_server_ts
        pdu = self._build(version, room_id, request, prev, sorted(listed), depth, ts)
        self._authorise(pdu, auth_state, version)
        return pdu, depth

    def _build(self, version: RoomVersion, room_id: str | None, request: EventRequest,
               prev: list[str], auth: list[str], depth: int, now: int) -> dict[str, Any]:
        pdu = build_event(
            version, room_id=room_id, sender=request.sender, event_type=request.event_type,
            content=request.content, prev_events=prev, auth_events=auth, depth=depth,
            origin_server_ts=now, server_name=self.server_name, state_key=request.state_key,
            redacts=request.redacts,
        )
        problem = event_json_error(pdu, version)
        if problem is not None:
            raise errors.bad_json(f"Room version {version.identifier} events must be "
                                  f"canonical JSON (integers only, within ±(2^53−1)): "
                                  f"{problem}")
        pdu = sign_event(pdu, version, self.server_name, self._key)
        problem = size_limit_error(pdu)
        if problem is not None:
            raise MatrixError(413, "M_TOO_LARGE", problem)
        return pdu

    @staticmethod
    def _event_id(pdu: Mapping[str, Any], version: RoomVersion) -> str:
        if version.event_id_in_pdu:
            return str(pdu["event_id"])
        return compute_event_id(pdu, version)

    @staticmethod
    def _authorise(pdu: Mapping[str, Any], auth_state: Mapping[tuple[str, str], Any],
                    version: RoomVersion) -> None:
        try:
            auth_rules.check_auth(pdu, auth_state, version)
        except AuthRuleError as e:
            raise errors.forbidden(str(e)) from e

    async def _persist(self, tx: Stores, room_id: str, version: RoomVersion,
                       pdu: dict[str, Any], event_id: str, depth: int,
                       request: EventRequest,
                       extremities: list[str] | None = None) -> StoredEvent:
        stream = await tx.next_stream_position()
        unsigned: dict[str, Any] = {}
        if request.state_key is not None:
            membership = request.content.get("membership") \
                if request.event_type == "m.room.member" else None
            replaced = await tx.state.set(room_id, request.event_type, request.state_key,
                                          event_id, membership if isinstance(membership, str)
                                          else None, stream)
            if replaced is not None:
                previous = await tx.events.get(replaced)
                if previous is not None:
                    unsigned["replaces_state"] = replaced
                    unsigned["prev_content"] = previous.content
                    unsigned["prev_sender"] = previous.sender
        relates = request.content.get("m.relates_to")
        relates_to = rel_type = None
        if isinstance(relates, Mapping) and isinstance(relates.get("event_id"), str) \
                and isinstance(relates.get("rel_type"), str):
            relates_to, rel_type = relates["event_id"], relates["rel_type"]
        device_id, txn_id = request.txn if request.txn else (None, None)
        new = NewEvent(event_id, room_id, stream, depth, pdu, unsigned, relates_to, rel_type,
                       device_id, txn_id)
        await tx.events.insert(new)
        await tx.rooms.set_forward_extremities(room_id, extremities or [event_id])
        stored = StoredEvent(event_id, room_id, stream, depth, pdu, unsigned, None, device_id,
                             txn_id)
        if request.redacts is not None:
            await apply_redaction(tx, version, stored, request.redacts)
        for step in self._persist_steps:
            await step.apply(tx, stored)
        return stored
