"""Inbound transactions: ``PUT /_matrix/federation/v1/send/{txnId}``.

A transaction is answered once per (origin, txnId); a retry gets the stored answer.
Each PDU is judged on its own and answered ``{}`` (accepted, or already known) or
``{"error": …}``: the room must be known with a member of ours in it, the event must not
claim one of our users as sender, and it must pass the checks on receipt
(``pdus.py``: format and size, signatures of every server that must sign, content hash,
its own auth events — which must be known here, or fetched from the origin as
outliers, ``gaps.py``). Then, under the room's lock, it must pass against the state
before it, or it is rejected: the current state when its prev_events are the room's
forward extremities; otherwise it forks the room, and the state before it is resolved
from the states after its prev_events (``state_at.py``), and the room's state becomes
the resolution of the states after the new forward extremities. An event that passes
there but fails against the room's current state (on a fork: resolved with the state
before it) is soft-failed (kept in ``federation_soft_failed`` with its state, never
shown to clients nor used as a prev_event of ours), and so is
a redaction of another server's user's event by a sender without the room's redact level
(from room version 3 the receiver decides that); one that
passes goes through the event pipeline, so clients see it in ``/sync`` and
``/messages`` and a state event becomes current state.

An event whose prev_events are unknown here (once its signatures and hashes are checked) first has
the gap filled from the origin with ``get_missing_events`` (``gaps.py``, asked again
while the gap stays open by ``catch_up.py``; at most
:data:`GAP_FETCHES_PER_TRANSACTION` fetches per transaction): the returned events are
checked, authorised and written oldest first, like received ones. What cannot be filled
is left: the event is accepted as a new forward extremity. EDUs: ``m.typing`` and
``m.receipt`` about users of the origin are passed to the typing and receipt services,
``m.presence`` to ``presence.py``, to-device, device-list and signing-key updates to
``device_lists.E2eeEdus``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glia import errors
from glia.clock import Clock
from glia.errors import MatrixError
from glia.ids import InvalidId, server_name_of
from glia.protocol import auth_rules
from glia.protocol.events import auth_event_ids, get_event_id, prev_event_ids, redacts_of
from glia.protocol.room_versions import DEFAULT_ROOM_VERSION, RoomVersion, get_room_version
from glia.services.event_checks import check_redaction_power
from glia.services.events import EventsService
from glia.services.federation.acl import RoomAcls
from glia.services.federation.catch_up import fetch_missing
from glia.services.federation.device_lists import E2eeEdus
from glia.services.federation.gaps import GapFiller
from glia.services.federation.pdus import BadPdu, PduChecks, authorise, check_against_state
from glia.services.federation.presence import FederatedPresence
from glia.services.federation.resident import ResidentMemberships
from glia.services.federation.state_at import ForkedState
from glia.services.receipts import ReceiptService
from glia.services.typing import TypingService
from glia.storage import Storage, Stores
from glia.storage.events import StoredEvent

__all__ = ["MAX_EDUS", "MAX_PDUS", "InboundTransactions"]

logger = logging.getLogger(__name__)

MAX_PDUS = 50
MAX_EDUS = 100
#: How many gaps one transaction may make us fetch (each bounded by ``gaps.py``), so a
#: transaction of 50 events with unknown prev_events cannot cost 50 fetches.
GAP_FETCHES_PER_TRANSACTION = 3


@dataclass
class _GapBudget:
    fetches: int


def _server(identifier: object) -> str | None:
    try:
        return server_name_of(identifier) if isinstance(identifier, str) else None
    except InvalidId:
        return None


class InboundTransactions:
    def __init__(self, server_name: str, storage: Storage, events: EventsService,
                 checks: PduChecks, resident: ResidentMemberships, typing: TypingService,
                 receipts: ReceiptService, clock: Clock, acls: RoomAcls,
                 gaps: GapFiller, e2ee: E2eeEdus | None = None, *,
                 presence: FederatedPresence | None = None) -> None:
        self._presence = presence
        self._server_name = server_name
        self._e2ee = e2ee
        self._gaps = gaps
        self._acls = acls
        self._storage = storage
        self._events = events
        self._checks = checks
        self._resident = resident
        self._typing = typing
        self._receipts = receipts
        self._clock = clock
        self._forks = ForkedState(events)

    async def receive(self, origin: str, txn_id: str, pdus: list[Any], edus: list[Any]
                      ) -> dict[str, Any]:
        if len(pdus) > MAX_PDUS or len(edus) > MAX_EDUS:
            raise errors.bad_json(f"A transaction carries at most {MAX_PDUS} PDUs and "
                                  f"{MAX_EDUS} EDUs")
        earlier = await self._storage.federation_queue.inbound_response(origin, txn_id)
        if earlier is not None:
            return earlier
        results: dict[str, dict[str, str]] = {}
        budget = _GapBudget(GAP_FETCHES_PER_TRANSACTION)
        for raw in pdus:
            event_id, error = await self._one(origin, raw, budget)
            if event_id is not None:
                results[event_id] = {} if error is None else {"error": error}
                if error is not None:
                    logger.info("refused %s from %s: %s", event_id, origin, error)
        for edu in edus:
            try:
                await self._edu(origin, edu)
            except Exception:
                logger.exception("an EDU from %s could not be applied", origin)
        response = {"pdus": results}
        await self._storage.federation_queue.put_inbound_response(
            origin, txn_id, response, self._clock.now_ms())
        return response

    async def _one(self, origin: str, raw: Any, budget: _GapBudget
                   ) -> tuple[str | None, str | None]:
        """(event ID, why it was refused or None)."""
        if not isinstance(raw, Mapping):
            return None, None
        room_id = str(raw.get("room_id"))
        room = await self._storage.rooms.get(room_id)
        version = get_room_version(room.room_version) if room is not None else None
        if version is None:
            default = get_room_version(DEFAULT_ROOM_VERSION)
            assert default is not None
            return _event_id(raw, default), "This server is not in the room"
        event_id = _event_id(raw, version)
        if event_id is None:
            return None, None
        local = [m for m in await self._storage.state.members_at(room_id, None, ["join"])
                 if _server(m.user_id) == self._server_name]
        if not local:
            return event_id, "This server is not in the room"
        if _server(raw.get("sender")) == self._server_name:
            return event_id, "The sender is a user of this server"
        refusal = await self._room_refusal(room_id, origin)
        if refusal is not None:
            return event_id, refusal
        try:
            event_id, event = await self._checks.checked(raw, version)
        except BadPdu as e:
            return event_id, str(e)
        return event_id, await self._accept(origin, room_id, version, event_id, event,
                                            budget)

    async def _accept(self, origin: str, room_id: str, version: RoomVersion,
                      event_id: str, event: dict[str, Any],
                      budget: _GapBudget | None) -> str | None:
        """With a ``budget``, first fetch and write the events missing before a checked
        event; then authorise it against its auth events and write it (or soft-fail it).
        Returns why it was refused, or None."""
        if await self._storage.events.get(event_id) is not None or \
                await self._storage.federation_queue.is_soft_failed(event_id):
            return None
        if budget is not None and budget.fetches > 0 \
                and await self._gaps.unknown_prevs(event):
            # Before the auth events are looked up: a missing prev_event is often one
            # of them too (a membership change, then a message).
            budget.fetches -= 1
            await self._fill_gap(origin, room_id, version, event_id)
        create = None
        if version.room_id_is_create_hash:
            state = await self._resident.current_auth_state(self._storage, room_id, [])
            create = state.get(auth_rules.CREATE_KEY)
        auth_ids = list(dict.fromkeys(auth_event_ids(event)))
        known = await self._gaps.auth_events(room_id, auth_ids)
        if len(known) != len(auth_ids) and budget is not None and budget.fetches > 0:
            budget.fetches -= 1
            await self._gaps.fetch_auth_events(
                origin, room_id, version, [a for a in auth_ids if a not in known], create)
            known = await self._gaps.auth_events(room_id, auth_ids)
        if len(known) != len(auth_ids):
            return "It names auth events this server does not know"
        try:
            authorise(event, known.values(), version, create)
        except BadPdu as e:
            return str(e)
        return await self._write(origin, room_id, version, event_id, event)

    async def _fill_gap(self, origin: str, room_id: str, version: RoomVersion,
                        event_id: str) -> None:
        """Write the events ``origin`` says are missing before ``event_id``, oldest
        first, each checked like any received event; whatever fails leaves the gap
        (the event then becomes a new forward extremity)."""
        missing = await fetch_missing(self._gaps, origin, room_id, version, event_id)
        for missing_id, missing_event in missing:
            if missing_id == event_id:
                continue
            error = await self._accept(origin, room_id, version, missing_id,
                                       missing_event, None)
            if error is not None:
                logger.info("refused %s, missing before %s, from %s: %s", missing_id,
                            event_id, origin, error)
        if not missing:
            logger.info("accepting %s from %s with unknown prev_events as a new forward "
                        "extremity", event_id, origin)

    async def _write(self, origin: str, room_id: str, version: RoomVersion, event_id: str,
                     event: dict[str, Any]) -> str | None:
        """Reject, soft-fail or write a checked event under the room's lock; returns
        why it was rejected (it fails against the state before it: the current state,
        or on a fork the state resolved from its prev_events, ``state_at.py``), or
        None."""
        rejected: list[str] = []

        async def write(tx: Stores) -> list[StoredEvent]:
            failure: str | None = None
            if await tx.events.get(event_id) is not None:
                # Another transaction (or a gap fill) wrote it since we looked.
                return []
            extremities = await tx.rooms.forward_extremities(room_id)
            fork = await self._forks.prepare(tx, room_id, version, event_id, event,
                                             extremities)
            state: Mapping[tuple[str, str], Mapping[str, Any]]
            if fork is None:
                types = auth_rules.auth_types_for_pdu(event, version)
                state = await self._resident.current_auth_state(tx, room_id, types)
                if set(prev_event_ids(event)) == set(extremities):
                    # The current state is the state before it: failing it is a
                    # rejection (the spec's check 5), not a soft failure.
                    failure = check_against_state(event, state, version)
            else:
                failure = fork.rejected
                state = await self._forks.soft_fail_state(fork)
            if failure is not None:
                rejected.append(f"not allowed by the state before it: {failure}")
                return []
            problem = check_against_state(event, state, version) or \
                await _redaction_problem(tx, version, event, state)
            if problem is not None:
                logger.info("soft-failed %s from %s: %s", event_id, origin, problem)
                await tx.federation_queue.add_soft_failed(
                    event_id, room_id, origin, event, problem, self._clock.now_ms())
                await self._forks.soft_failed(tx, room_id, event_id, event, fork,
                                              extremities)
                return []
            prevs = set(prev_event_ids(event))
            new_extremities = [*(e for e in extremities if e not in prevs), event_id]
            if fork is not None:
                return [await self._forks.persist(tx, fork, new_extremities)]
            return [await self._events.persist_received(
                tx, room_id, version, event, event_id, in_state="state_key" in event,
                extremities=new_extremities)]

        await self._events.write_received(room_id, version, write)
        return rejected[0] if rejected else None

    async def _room_refusal(self, room_id: str, origin: str) -> str | None:
        """Why ``origin`` may not send anything into the room: an admin blocked it here,
        or the room's ``m.room.server_acl`` denies the origin (the spec's rule for PDUs
        and room EDUs alike)."""
        if await self._storage.admin_rooms.blocked_by(room_id) is not None:
            return "This room has been blocked on this server"
        if not await self._acls.allowed(room_id, origin):
            return f"Server {origin} is banned from room {room_id} by its server ACL"
        return None

    async def _edu(self, origin: str, edu: Any) -> None:
        if not isinstance(edu, Mapping) or not isinstance(edu.get("content"), Mapping):
            return
        content = edu["content"]
        if self._e2ee is not None and edu.get("edu_type") in E2eeEdus.TYPES:
            await self._e2ee.receive(origin, str(edu["edu_type"]), content)
        elif edu.get("edu_type") == "m.typing":
            room_id, user_id = content.get("room_id"), content.get("user_id")
            if isinstance(room_id, str) and _server(user_id) == origin and \
                    await self._room_refusal(room_id, origin) is None:
                await self._typing.set_remote(room_id, str(user_id),
                                              content.get("typing") is True)
        elif edu.get("edu_type") == "m.presence" and self._presence is not None:
            await self._presence.receive(origin, content)
        elif edu.get("edu_type") == "m.receipt":
            for room_id, by_type in content.items():
                if not isinstance(by_type, Mapping):
                    continue
                reads = by_type.get("m.read")
                if not isinstance(reads, Mapping) or \
                        await self._room_refusal(str(room_id), origin) is not None:
                    continue
                for user_id, receipt in reads.items():
                    if _server(user_id) != origin or not isinstance(receipt, Mapping):
                        continue
                    ids = receipt.get("event_ids")
                    data = receipt.get("data")
                    thread = data.get("thread_id") if isinstance(data, Mapping) else None
                    if isinstance(ids, list) and ids and isinstance(ids[-1], str):
                        await self._receipts.remote_receipt(
                            str(room_id), user_id, ids[-1],
                            thread if isinstance(thread, str) else None)


async def _redaction_problem(tx: Stores, version: RoomVersion, event: Mapping[str, Any],
                             state: Mapping[tuple[str, str], Any]) -> str | None:
    """From room version 3 the auth rules leave redactions to the receiver: one server's
    user may redact another server's user's event only with the room's redact level."""
    target = redacts_of(event, version) if event.get("type") == "m.room.redaction" else None
    if target is None:
        return None
    original = await tx.events.get(target)
    if original is None or _server(original.sender) == _server(event.get("sender")):
        return None
    try:
        await check_redaction_power(tx, version, str(event.get("sender")), target, state)
    except MatrixError as e:
        return e.error
    return None


def _event_id(raw: Mapping[str, Any], version: RoomVersion) -> str | None:
    try:
        return get_event_id(raw, version)
    except Exception:  # a PDU too malformed to hash has no ID to answer under
        return None
