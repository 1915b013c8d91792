"""Homeserver → application service: the persisted queue and the transaction sender.

:class:`AppServiceQueue` is an event fan-out subscriber (``services/event_fanout.py``):
after each commit — or on the outbox's retry after a crash — it appends the events each
service is interested in to that service's queue in the database. The events reach it
through the outbox, so an event committed just before a ``kill -9`` is queued on restart.

:class:`AppServiceSender` runs one loop per service with a URL. It puts the oldest queued
items into a transaction, records its txnId with them, and ``PUT``s it to the service; on
success the items go, on failure they stay *in that transaction* and the same txnId is
sent again after a back-off (doubling from 1 s to 5 minutes). So order holds, nothing is
lost to an outage or a crash, and a service that saw a transaction before can recognise
it. Each service has its own loop: one that fails or hangs delays only itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from glia.clock import Clock
from glia.services.appservices.registrations import AppService, AppServices
from glia.services.device_lists import SIGNED_CURVE25519
from glia.services.event_fanout import WrittenEvent
from glia.services.event_format import client_event
from glia.storage import Storage, Stores
from glia.storage.appservices import DeliveryState, OpenTransaction, QueuedItem

logger = logging.getLogger(__name__)

QUEUE_COUNTER = "appservice_queue"
#: Items per transaction (Synapse sends up to 100 events at once).
BATCH = 100
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 300_000
#: How often an idle loop looks at the database (other processes may have queued).
POLL_SECONDS = 1.0
#: A service's answer longer than this is an error (and a retry), in characters.
_ERROR_LIMIT = 500


class AppServiceQueue:
    """The fan-out subscriber that queues each service's events."""

    name = "appservices"

    def __init__(self, storage: Storage, services: AppServices,
                 sender: AppServiceSender) -> None:
        self._storage = storage
        self._services = [s for s in services.all if s.url]
        self._sender = sender

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        if not self._services:
            return
        rooms: dict[str, tuple[list[str], list[str]]] = {}
        owed: list[QueuedItem] = []
        for written in events:
            event = written.event
            if event.room_id not in rooms:
                rooms[event.room_id] = await room_interest(self._storage, event.room_id)
            members, aliases = rooms[event.room_id]
            for service in self._services:
                if _interested(service, event.pdu, event.room_id, members, aliases):
                    owed.append(QueuedItem(service.id, "event", client_event(event, None),
                                           event.stream_ordering))
        if owed:
            await self._sender.enqueue(owed)


async def room_interest(storage: Storage, room_id: str) -> tuple[list[str], list[str]]:
    """What makes a room a service's: its joined and invited members, its aliases."""
    found = await storage.state.members_at(room_id, None, memberships=["join", "invite"])
    return [m.user_id for m in found], await storage.directory.aliases_of(room_id)


def room_is_services(service: AppService, room_id: str, members: list[str],
                     aliases: list[str]) -> bool:
    """One of its rooms, or a room one of its users is in (or invited to), or with one
    of its aliases: the service hears what happens there."""
    return service.owns_room(room_id) or any(service.owns_user(m) for m in members) or \
        any(service.owns_alias(a) for a in aliases)


def _interested(service: AppService, pdu: dict[str, Any], room_id: str,
                members: list[str], aliases: list[str]) -> bool:
    """The spec's rule: an event sent by one of its users, about one of its users (a
    membership, such as an invite of a puppet), or in one of its rooms."""
    if service.owns_user(pdu["sender"]):
        return True
    if pdu.get("type") == "m.room.member" and isinstance(pdu.get("state_key"), str) \
            and service.owns_user(pdu["state_key"]):
        return True
    return room_is_services(service, room_id, members, aliases)


class DeliveryFailed(Exception):
    """The service did not accept a transaction; the message says why (for admins)."""


@dataclass(frozen=True)
class Health:
    """A service's delivery health, as the admin API shows it."""

    service: AppService
    state: DeliveryState


class AppServiceSender:
    def __init__(self, storage: Storage, services: AppServices, clock: Clock, *,
                 timeout: float, several_processes: bool) -> None:
        self._storage = storage
        self._services = services
        self._clock = clock
        self._timeout = timeout
        self._wake = {s.id: asyncio.Event() for s in services.all}
        # Processes sharing the database take turns through a lease on each service. One
        # process alone needs none (and a restart after a crash must not wait for the
        # dead process's lease to run out).
        self._shared = several_processes
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._lease_ms = int(timeout * 2_000) + 10_000

    async def enqueue(self, items: Sequence[QueuedItem]) -> None:
        """Append items to their services' queues, in order, and wake their loops."""
        async with self._storage.transaction() as tx:
            await self.enqueue_in(tx, items)

    async def enqueue_in(self, tx: Stores, items: Sequence[QueuedItem]) -> None:
        """The same, in the caller's transaction; the loops wake once it committed."""
        rows = [(await tx.next_stream_position(QUEUE_COUNTER), item) for item in items]
        await tx.appservices.enqueue(rows)
        for service_id in {i.as_id for i in items}:
            tx.after_commit(functools.partial(self.wake, service_id))

    def wake(self, service_id: str) -> None:
        event = self._wake.get(service_id)
        if event is not None:
            event.set()

    # -- admin -------------------------------------------------------------------------

    async def health(self) -> list[Health]:
        out = []
        for service in self._services.all:
            await self._storage.appservices.ensure_state(service.id)
            state = await self._storage.appservices.state(service.id)
            assert state is not None
            out.append(Health(service, state))
        return out

    # -- the loops ---------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver to every service with a URL until cancelled."""
        loops = [self._run_one(s) for s in self._services.all if s.url]
        if loops:
            await asyncio.gather(*loops)

    async def _run_one(self, service: AppService) -> None:
        ready = False
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            while True:
                try:
                    if not ready:
                        await self._storage.appservices.ensure_state(service.id)
                        ready = True
                    delay = await self.step(service, http)
                except Exception:
                    logger.exception("application service %s: delivery round failed",
                                     service.id)
                    delay = POLL_SECONDS
                if delay > 0:
                    await self._wait(service.id, delay)

    async def _wait(self, service_id: str, seconds: float) -> None:
        event = self._wake[service_id]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
        event.clear()

    async def step(self, service: AppService, http: httpx.AsyncClient) -> float:
        """Send (or resend) one transaction if one is due; returns how long to wait
        before the next step (0: at once)."""
        store = self._storage.appservices
        now = self._clock.now_ms()
        if self._shared and \
                not await store.claim(service.id, self._owner, now, now + self._lease_ms):
            return POLL_SECONDS
        state = await store.state(service.id)
        if state is None or state.paused or state.backlog == 0:
            return POLL_SECONDS
        if state.next_attempt_ts > now:
            return min(POLL_SECONDS, (state.next_attempt_ts - now) / 1000)
        async with self._storage.transaction() as tx:
            txn = await tx.appservices.open_transaction(service.id, BATCH)
        if txn is None:
            return POLL_SECONDS
        try:
            await self._put(service, txn, http)
        except DeliveryFailed as e:
            backoff = min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** min(state.attempts, 20))
            failed_at = self._clock.now_ms()
            await store.failed(service.id, failed_at, str(e), failed_at + backoff)
            logger.warning("application service %s: transaction %d failed (%s); retrying"
                           " in %d ms", service.id, txn.txn_id, e, backoff)
            return 0
        await store.delivered(service.id, txn.txn_id, self._clock.now_ms())
        return 0

    async def _put(self, service: AppService, txn: OpenTransaction,
                   http: httpx.AsyncClient) -> None:
        assert service.url is not None
        url = f"{service.url}/_matrix/app/v1/transactions/{txn.txn_id}"
        # Key counts are read at each attempt: a retried transaction carries current ones.
        keys = await key_counts(self._storage, service, txn.items) \
            if service.device_lists else {}
        try:
            response = await http.put(url, json=transaction_body(txn.items, keys),
                                      headers={"Authorization": f"Bearer {service.hs_token}"})
        except httpx.TimeoutException as e:
            raise DeliveryFailed(f"no answer within {self._timeout:g} s") from e
        except httpx.HTTPError as e:
            raise DeliveryFailed(f"cannot connect: {type(e).__name__}: {e}") from e
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"HTTP {response.status_code}: "
                                 f"{response.text[:_ERROR_LIMIT]}")


def transaction_body(items: Sequence[QueuedItem],
                     keys: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON of ``PUT /transactions/{txnId}``: events in queue order; ephemeral events
    and to-device messages under their stable names and MSC2409's (which bridges read);
    the users whose device lists changed or who left the service's sight (MSC3202)
    under both names too, the later item about a user winning; then ``keys``, the
    MSC3202 key counts of :func:`key_counts`."""
    body: dict[str, Any] = {"events": [i.content for i in items if i.kind == "event"]}
    for kind, stable, unstable in (("ephemeral", "ephemeral", "de.sorunome.msc2409.ephemeral"),
                                   ("to_device", "to_device", "de.sorunome.msc2409.to_device")):
        found = [i.content for i in items if i.kind == kind]
        if found:
            body[stable] = found
            body[unstable] = found
    changed: set[str] = set()
    left: set[str] = set()
    for item in items:
        if item.kind == "device_lists":
            gone = "left" in item.content
            user_id = str(item.content["left" if gone else "changed"])
            (left if gone else changed).add(user_id)
            (changed if gone else left).discard(user_id)
    if changed or left:
        lists = {"changed": sorted(changed), "left": sorted(left)}
        body["device_lists"] = lists
        body["org.matrix.msc3202.device_lists"] = lists
    body.update(keys or {})
    return body


async def key_counts(storage: Storage, service: AppService,
                     items: Sequence[QueuedItem]) -> dict[str, Any]:
    """MSC3202's key fields, under Synapse's names: the one-time key counts
    (``signed_curve25519`` always present, as in ``/sync``) and unused fallback key
    types of every device of the service's users that the transaction concerns — its
    sender, its users joined to a room an event or ephemeral event is in, and the
    recipients of its to-device messages (the users Synapse chooses)."""
    users = {service.sender}
    rooms = sorted({str(i.content["room_id"]) for i in items
                    if i.kind in ("event", "ephemeral")
                    and isinstance(i.content.get("room_id"), str)})
    if rooms:
        users.update(u for u in await storage.keys.joined_members(rooms)
                     if service.owns_user(u))
    users.update(str(i.content["to_user_id"]) for i in items if i.kind == "to_device")
    counts = await storage.keys.one_time_key_counts_of(sorted(users))
    fallback = await storage.keys.unused_fallback_key_types_of(sorted(users))
    body: dict[str, Any] = {}
    if counts:
        counts = {user: {device: {SIGNED_CURVE25519: 0, **by_algorithm}
                         for device, by_algorithm in devices.items()}
                  for user, devices in counts.items()}
        body["org.matrix.msc3202.device_one_time_keys_count"] = counts
        body["org.matrix.msc3202.device_one_time_key_counts"] = counts
    if fallback:
        body["org.matrix.msc3202.device_unused_fallback_key_types"] = fallback
    return body
