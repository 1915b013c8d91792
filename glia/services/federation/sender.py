"""The outbound federation sender: an event-pipeline subscriber and one sending loop
per destination.

After each commit, every event this server originates is queued (table
``federation_queue``) for every other server with a joined member in its room (and, for a
membership event, the target's server). That is every event of our users, and the
memberships of other servers' users that we accepted as the room's resident server
(``send_join`` / ``send_leave``): the spec makes the resident server pass those on, since
the joining server's own view of the room may be incomplete; they are recognised by our
signature on another server's user's own membership, so a retry after a restart decides
the same way. Each destination then gets transactions
(``PUT /_matrix/federation/v1/send/{txnId}``) of at most 50 PDUs and 100 EDUs, one in
flight at a time, in stream order; a row goes once the destination accepted the
transaction that carried it. A destination that fails is left to the client's back-off
(``backoff.py``); the loop :meth:`FederationSender.run` retries destinations with queued
events when their back-off ends — after a restart too — and a request from a destination
(it is up again) resets its back-off and sends its queue at once. Each destination has
its own task, so a slow or dead one never holds up the others.

Typing, receipt and presence EDUs are kept in memory only: they are ephemeral, and a
restart drops them, as a later update replaces them anyway; a transaction that fails
keeps them for the destination's next one (the newest :data:`MAX_HELD_EDUS`).

Several processes on one PostgreSQL database share the queue and each runs a sender, so
a process sends to a destination only while it holds that destination's lease (table
``federation_sender_leases``): taken or renewed before each transaction, for longer than
a transaction can be in flight, and given up when the queue is empty (then the queue is
looked at once more, so a row another process queued meanwhile is not left behind). A
process that dies leaves its lease to expire, and the loop of another takes over. A
process whose EDUs wait for a destination another process holds sends them when it gets
the lease (the loop tries every few seconds). Transaction IDs carry a per-process part,
so two processes never send the same ID (the receiver would take the second for a
retry of the first).
EDUs that must not be lost (to-device messages, device-list and signing-key updates) are
queued in ``federation_edu_queue`` by their writers and go like the PDUs: first in each
transaction, removed once the destination accepted it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Literal

from glia.clock import Clock
from glia.errors import MatrixError
from glia.ids import InvalidId, server_name_of
from glia.services.event_fanout import WrittenEvent
from glia.services.federation.backoff import DestinationBackoff, NotRetrying
from glia.services.federation.client import FederationClient, FederationError, RemoteError
from glia.storage import Storage

__all__ = ["MAX_EDUS", "MAX_PDUS", "FederationSender"]

logger = logging.getLogger(__name__)

#: The spec's limits of one transaction.
MAX_PDUS = 50
MAX_EDUS = 100
#: In-memory EDUs kept for a destination that cannot be reached (the newest).
MAX_HELD_EDUS = 1000
#: How often the loop looks for destinations whose back-off has ended.
POLL_SECONDS = 5.0
#: A lease outlasts the longest a transaction can be in flight (discovery and a few
#: addresses, each within the request timeout) by this many request timeouts, plus a
#: minute.
LEASE_TIMEOUTS = 4

Outcome = Literal["sent", "empty", "failed"]


def _server(identifier: str) -> str | None:
    try:
        return server_name_of(identifier)
    except InvalidId:
        return None


class FederationSender:
    name = "federation_sender"

    def __init__(self, server_name: str, storage: Storage, client: FederationClient,
                 backoff: DestinationBackoff, clock: Clock) -> None:
        self._server_name = server_name
        self._storage = storage
        self._client = client
        self._backoff = backoff
        self._clock = clock
        self._edus: dict[str, list[dict[str, Any]]] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._txn_ids = itertools.count()
        #: This process: a random part for its transaction IDs, and with the host name
        #: and process ID (for an admin reading the table) its name in the lease table.
        self._instance = secrets.token_hex(4)
        self._holder = f"{socket.gethostname()}.{os.getpid()}.{self._instance}"
        self._lease_ms = int((LEASE_TIMEOUTS * client.request_timeout + 60) * 1000)

    # -- what to send -------------------------------------------------------------------

    async def room_servers(self, room_id: str) -> set[str]:
        """Other servers with a joined member in the room (current state); a room of
        only our users is told by an index probe, not by reading its members."""
        state = self._storage.state
        if not await state.has_joined_member(room_id, self._server_name, others=True):
            return set()
        members = await state.members_at(room_id, None, ["join"])
        servers = {_server(m.user_id) for m in members}
        return {s for s in servers if s is not None and s != self._server_name}

    def _accepted_as_resident(self, pdu: dict[str, Any]) -> bool:
        """Another server's user's own membership event that we signed: one we accepted
        through ``send_join`` / ``send_leave`` (invites we sign name our user as the
        target, not the sender, and the inviting server sends them)."""
        signatures = pdu.get("signatures")
        return (pdu.get("type") == "m.room.member"
                and pdu.get("state_key") == pdu.get("sender")
                and isinstance(signatures, dict) and self._server_name in signatures)

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        """Queue the new events we originate for the servers in their rooms."""
        woken: set[str] = set()
        for written in events:
            event = written.event
            origin = _server(event.sender)
            if origin != self._server_name and not self._accepted_as_resident(event.pdu):
                continue
            destinations = await self.room_servers(event.room_id)
            destinations.discard(origin or "")
            if event.type == "m.room.member" and event.state_key is not None:
                target = _server(event.state_key)
                if target is not None and target != self._server_name:
                    destinations.add(target)
            if destinations:
                await self._storage.federation_queue.add(
                    sorted(destinations), event.stream_ordering, event.event_id,
                    self._clock.now_ms())
                for destination in destinations:
                    await self._storage.federation_destinations.set_room(
                        destination, event.room_id, event.stream_ordering)
                woken |= destinations
        for destination in woken:
            self.kick(destination)

    async def send_edu(self, room_id: str, edu_type: str, content: dict[str, Any]) -> None:
        """Send an EDU about ``room_id`` to the room's other servers."""
        self.send_edu_to(await self.room_servers(room_id), edu_type, content)

    def send_edu_to(self, destinations: Iterable[str], edu_type: str,
                    content: dict[str, Any]) -> None:
        """Send an EDU to each of ``destinations`` (e.g. presence, not about one room)."""
        for destination in destinations:
            self._edus.setdefault(destination, []).append(
                {"edu_type": edu_type, "content": content})
            self.kick(destination)

    async def typing_changed(self, room_id: str, user_id: str, typing: bool) -> None:
        if _server(user_id) == self._server_name:
            await self.send_edu(room_id, "m.typing",
                                {"room_id": room_id, "user_id": user_id, "typing": typing})

    async def receipt_sent(self, room_id: str, user_id: str, receipt_type: str,
                           event_id: str, ts: int, thread_id: str | None) -> None:
        if _server(user_id) != self._server_name:
            return
        data: dict[str, Any] = {"ts": ts}
        if thread_id is not None:
            data["thread_id"] = thread_id
        await self.send_edu(room_id, "m.receipt", {room_id: {receipt_type: {
            user_id: {"event_ids": [event_id], "data": data}}}})

    # -- sending ------------------------------------------------------------------------

    def kick(self, destination: str) -> None:
        """Make ``destination``'s task send what it has (start it if it is idle)."""
        if destination in self._running:
            self._again.add(destination)
            return
        self._running[destination] = asyncio.create_task(self._drain(destination))

    async def _drain(self, destination: str) -> None:
        leases = self._storage.federation_leases
        try:
            while True:
                now = self._clock.now_ms()
                if not await leases.take(destination, self._holder, now,
                                         now + self._lease_ms):
                    return  # another process sends to it; our loop tries again later
                self._again.discard(destination)
                outcome = await self._send_one(destination)
                if outcome == "sent" or destination in self._again:
                    continue
                await leases.give_up(destination, self._holder)
                if outcome == "failed" or (
                        not self._edus.get(destination)
                        and not await self._storage.federation_queue.length(destination)):
                    return
                # Queued (by another process) before we gave the lease up: send it.
        except Exception:
            logger.exception("federation sender for %s failed", destination)
        finally:
            self._running.pop(destination, None)

    async def _send_one(self, destination: str) -> Outcome:
        """Send one transaction: ``sent`` (so there may be more), ``empty`` (nothing to
        send) or ``failed`` (the destination is left to its back-off)."""
        queue = self._storage.federation_queue
        batch = await queue.next_batch(destination, MAX_PDUS)
        # Persistent EDUs first (to-device, device lists: they must not be lost), then
        # the in-memory ones in the room left.
        kept = await self._storage.federation_e2ee.next_edus(destination, MAX_EDUS)
        pending = self._edus.pop(destination, [])
        room = MAX_EDUS - len(kept)
        edus = [{"edu_type": e.edu_type, "content": e.content} for e in kept]
        sending = pending[:room]
        edus += sending
        if pending[room:]:
            self._edus[destination] = pending[room:]
        if not batch and not edus:
            return "empty"
        stored = await self._storage.events.get_many([q.event_id for q in batch])
        pdus = [stored[q.event_id].pdu for q in batch if q.event_id in stored]
        now = self._clock.now_ms()
        txn_id = f"{now}.{self._instance}.{next(self._txn_ids)}"
        body = {"origin": self._server_name, "origin_server_ts": now, "pdus": pdus,
                "edus": edus}
        try:
            answer = await self._client.request(
                destination, "PUT", f"/_matrix/federation/v1/send/{txn_id}", content=body)
        except RemoteError as e:
            if e.status >= 500:
                await queue.set_error(destination, str(e), now)
                self._hold(destination, sending)
                return "failed"
            # The destination is up and refuses this transaction: retrying it cannot
            # help, so its events are dropped for this destination (and logged).
            logger.warning("%s refused a transaction of %d events: %s", destination,
                           len(batch), e)
            answer = None
            await queue.set_error(destination, str(e), now)
        except (FederationError, MatrixError, ValueError) as e:
            await queue.set_error(destination, str(e), now)
            self._hold(destination, sending)
            return "failed"
        if answer is not None:
            await queue.set_error(destination, None, now)
            _log_refused(destination, answer.body)
        if kept:
            await self._storage.federation_e2ee.remove_edus(destination, kept[-1].position)
        if batch:
            await queue.remove(destination, batch)
            if answer is not None:
                await self._sent_upto(destination, batch[-1].stream_ordering)
        return "sent"

    def _hold(self, destination: str, edus: list[dict[str, Any]]) -> None:
        """The in-memory EDUs of a transaction that failed go back to the front of the
        destination's list (the newest :data:`MAX_HELD_EDUS` kept), so one failed
        transaction loses no presence, typing or receipt update; they go with the next
        transaction the destination takes."""
        held = edus + self._edus.get(destination, [])
        if held:
            self._edus[destination] = held[-MAX_HELD_EDUS:]

    async def _sent_upto(self, destination: str, stream: int) -> None:
        """Record the last event the destination accepted (Synapse's
        ``last_successful_stream_ordering``)."""
        state = await self._storage.federation_destinations.get(destination)
        if state is not None:
            await self._storage.federation_destinations.upsert(
                replace(state, last_successful_stream_ordering=stream))

    async def origin_seen(self, origin: str) -> None:
        """A signed request came from ``origin``: it is up. Forget its back-off and
        send what it missed."""
        state = await self._storage.federation_destinations.get(origin)
        if state is not None and (state.retry_interval or state.retry_last_ts):
            await self._backoff.succeeded(origin, state)
            logger.info("%s is reachable again; sending its queue", origin)
            self.kick(origin)

    async def run(self) -> None:
        """Resume queued destinations now (after a restart), whenever their back-off
        ends, and when another process's lease on them ends; runs until cancelled."""
        while True:
            try:
                queued = set(await self._storage.federation_queue.destinations())
                queued |= set(await self._storage.federation_e2ee.edu_destinations())
                queued |= set(self._edus)
                for destination in sorted(queued):
                    if destination in self._running:
                        continue
                    try:
                        await self._backoff.check(destination)
                    except NotRetrying:
                        continue
                    self.kick(destination)
            except Exception:
                logger.exception("federation sender round failed")
            await self._clock.sleep(POLL_SECONDS)

    async def queue_length(self, destination: str) -> int:
        return await self._storage.federation_queue.length(destination)


def _log_refused(destination: str, body: Any) -> None:
    pdus = body.get("pdus") if isinstance(body, dict) else None
    if not isinstance(pdus, dict):
        return
    for event_id, result in pdus.items():
        if isinstance(result, dict) and result.get("error"):
            logger.info("%s refused %s: %s", destination, event_id, result["error"])
