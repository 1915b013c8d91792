"""Delivering notifications to HTTP pushers (the Push Gateway API, ``/_matrix/push/v1``).

The queue is durable: push evaluation queues one ``push_deliveries`` row per notification
and HTTP pusher in the transaction that records the notification (and the event writer's
outbox makes sure evaluation runs for every event), so a crash or restart loses no push. This
worker claims due rows with a lease (several processes on one PostgreSQL never send the
same push twice at once), POSTs them to the gateways with short timeouts and a bounded
number in flight, and deletes them once delivered. A failing gateway is retried with a
backoff that doubles up to an hour, for all of that pusher's pushes together; a push still
failing after a day is dropped. Pushkeys a gateway reports as ``rejected`` lose their
pusher, as the spec requires. Nothing here runs inside the event writer: push evaluation
(``services/push_evaluation.py``) wakes the worker once the pushes it queued committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

from glia.clock import now_ms
from glia.protocol import push_rules as pr
from glia.services import pinned_http as pinned
from glia.services.pinned_http import AddressPolicy, PinnedTransport, Resolver, system_resolve
from glia.storage import Storage
from glia.storage.events import StoredEvent
from glia.storage.push import Delivery, Notification, Pusher

logger = logging.getLogger(__name__)

#: Pushes in flight at once, over all gateways.
MAX_IN_FLIGHT = 32
#: How long a claimed push is ours before another worker may retry it.
LEASE_MS = 60_000
#: Backoff of a failing gateway: from a second, doubling, to an hour at most.
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 3_600_000
#: A push that could not be delivered for this long is dropped.
GIVE_UP_MS = 24 * 3_600_000
#: The worker looks at the queue at least this often (pushes queued by other processes,
#: or left behind by a crash).
POLL_SECONDS = 10.0
#: Read notifications are kept this long for ``GET /notifications``, then deleted.
RETENTION_MS = 30 * 24 * 3_600_000
RETENTION_EVERY_MS = 3_600_000
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class NotPublicAddress(Exception):
    """A gateway name resolved to a loopback, private, link-local, multicast or reserved
    address while ``push.allow_private_gateways`` is off."""


def _public_only(allow_private: bool) -> AddressPolicy | None:
    return None if allow_private else (lambda address: address.is_global)


async def checked_addresses(host: str, port: int, allow_private: bool,
                            resolve: Resolver = system_resolve) -> list[str]:
    """Resolve ``host`` once and return the addresses to connect to. Unless private
    addresses are allowed, *every* address must be public (pushes into loopback or the
    private network would let any user make the server send requests into its own
    network); see ``pinned_http``."""
    return await pinned.checked_addresses(host, port, _public_only(allow_private), resolve,
                                          NotPublicAddress)


class PinnedBackend(pinned.PinnedBackend):
    """The network backend of the gateway client (``pinned_http.PinnedBackend``, public
    addresses only unless private gateways are allowed)."""

    def __init__(self, allow_private: bool, resolve: Resolver = system_resolve) -> None:
        super().__init__(_public_only(allow_private), resolve, NotPublicAddress)


class PushGateway:
    def __init__(self, storage: Storage, server_name: str, allow_private: bool = False
                 ) -> None:
        self._allow_private = allow_private
        self._server_name = server_name
        self._storage = storage
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._next_retention = 0

    # -- wake-ups ----------------------------------------------------------------------

    def wake(self) -> None:
        self.ensure_running()
        self._wake.set()

    def ensure_running(self) -> None:
        """Start the worker in this process unless it runs already. Besides the
        application starting it, every push and every sync-facing call (unread counts,
        push rules) makes sure it runs, so pushes queued before a restart go out as soon
        as the server is used."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="push-gateway")

    async def run(self) -> None:
        """The delivery worker: runs until cancelled. Started by the application at
        start-up, it takes over from a worker started on first use."""
        current = asyncio.current_task()
        if self._task is not None and self._task is not current and not self._task.done():
            self._task.cancel()
        self._task = current
        try:
            while True:
                try:
                    await self._round()
                except Exception:
                    logger.exception("push delivery round failed")
                    await asyncio.sleep(5)
        finally:
            # Unless another worker took over (and carries on with what is in flight).
            if self._task is current:
                for task in list(self._in_flight):
                    task.cancel()
                if self._in_flight:
                    await asyncio.wait(set(self._in_flight), timeout=5)
                if self._client is not None:
                    await self._client.aclose()
                    self._client = None

    async def _round(self) -> None:
        self._wake.clear()
        now = now_ms()
        if now >= self._next_retention:
            self._next_retention = now + RETENTION_EVERY_MS
            await self._retention(now)
        free = MAX_IN_FLIGHT - len(self._in_flight)
        if free > 0:
            claimed = await self._storage.push.claim_due(now, now + LEASE_MS, free)
            for delivery in claimed:
                task = asyncio.create_task(self._deliver(delivery))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            free -= len(claimed)
        if free <= 0:
            # More may be due: continue as soon as a push finishes.
            if self._in_flight:
                await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
            return
        due = await self._storage.push.next_due()
        timeout = POLL_SECONDS if due is None else \
            min(max((due - now_ms()) / 1000, 0.01), POLL_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _retention(self, now: int) -> None:
        while await self._storage.push.delete_read_before(
                now - RETENTION_MS, 1000, self._server_name) >= 1000:
            await asyncio.sleep(0)

    # -- one push ----------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: pushes never go through proxies named in the environment.
            transport = PinnedTransport(PinnedBackend(self._allow_private), MAX_IN_FLIGHT)
            self._client = httpx.AsyncClient(timeout=TIMEOUT, trust_env=False,
                                             follow_redirects=False, transport=transport)
        return self._client

    async def _deliver(self, d: Delivery) -> None:
        try:
            await self._attempt(d)
        except asyncio.CancelledError:
            # Shutting down: hand the push back rather than leaving it leased. If the
            # database is gone already, the lease runs out instead.
            with contextlib.suppress(Exception):
                await self._storage.push.retry_delivery(d, now_ms())
            raise
        except Exception:
            logger.exception("push of %s to %s failed", d.notification.event_id,
                             d.pusher.app_id)
            with contextlib.suppress(Exception):
                await self._failed(d, now_ms())

    async def _attempt(self, d: Delivery) -> None:
        n, pusher = d.notification, d.pusher
        read = await self._storage.push.read_markers(n.user_id, [n.room_id])
        event = await self._storage.events.get(n.event_id)
        if n.stream <= read.get(n.room_id, 0) or event is None:
            # Read meanwhile (or gone): the gateway would only show something stale.
            await self._storage.push.finish_delivery(d)
            return
        payload = build_payload(event, n, pusher, await self._storage.push.total_unread(
            n.user_id), await self._room_details(event))
        url = str(pusher.data.get("url"))
        host = urlsplit(url).hostname
        try:
            response = await self._http().post(
                url, content=msgspec.json.encode(payload),
                headers={"Content-Type": "application/json"})
        except NotPublicAddress:
            logger.warning("push gateway %s of %s is not on a public address; dropped the"
                           " push (push.allow_private_gateways is off)", host,
                           pusher.app_id)
            await self._storage.push.finish_delivery(d)
            await self._storage.push.delivery_failed(pusher, now_ms())
            return
        except httpx.HTTPError as e:
            logger.info("push to %s for %s failed: %s", host, pusher.app_id,
                        type(e).__name__)
            await self._failed(d, now_ms())
            return
        status = response.status_code
        if 400 <= status < 500 and status not in (408, 429):
            # The gateway refuses this request; sending it again would not help.
            logger.warning("push gateway %s refused a push for %s (HTTP %d); dropped it",
                           host, pusher.app_id, status)
            await self._storage.push.finish_delivery(d)
            await self._storage.push.delivery_failed(pusher, now_ms())
            return
        if not 200 <= status < 300:
            logger.info("push gateway %s answered HTTP %d for %s", host, status,
                        pusher.app_id)
            await self._failed(d, now_ms())
            return
        await self._succeeded(d, response)

    async def _succeeded(self, d: Delivery, response: httpx.Response) -> None:
        pusher = d.pusher
        try:
            body = response.json()
        except ValueError:
            body = {}
        rejected = body.get("rejected") if isinstance(body, dict) else None
        if isinstance(rejected, list) and pusher.pushkey in rejected:
            logger.info("push gateway rejected a pushkey of %s for %s; removed that pusher",
                        pusher.app_id, pusher.user_id)
            # Its queued pushes go with it.
            await self._storage.push.delete_pusher(pusher.user_id, pusher.app_id,
                                                   pusher.pushkey)
            return
        async with self._storage.transaction() as tx:
            await tx.push.finish_delivery(d)
            await tx.push.delivered(pusher, now_ms())

    async def _failed(self, d: Delivery, now: int) -> None:
        """Retry later with the pusher's backoff, or give up after a day."""
        async with self._storage.transaction() as tx:
            since = await tx.push.delivery_failed(d.pusher, now)
            if now - d.created_ts >= GIVE_UP_MS:
                logger.warning("giving up a push of %s to %s after %d attempts",
                               d.notification.event_id, d.pusher.app_id, d.attempts)
                await tx.push.finish_delivery(d)
                return
            retry_at = now + min(max(now - since, MIN_BACKOFF_MS), MAX_BACKOFF_MS)
            await tx.push.retry_delivery(d, retry_at)
            await tx.push.postpone_pusher(d.pusher, retry_at)
        # The worker may be sleeping past the retry time.
        self._wake.set()

    async def _room_details(self, event: StoredEvent) -> dict[str, Any]:
        """The room's name and canonical alias, and the sender's display name there."""
        keys = [("m.room.name", ""), ("m.room.canonical_alias", ""),
                ("m.room.member", event.sender)]
        ids = await self._storage.state.current_ids(event.room_id, keys)
        events = await self._storage.events.get_many(list(ids.values()))

        def text(key: tuple[str, str], field: str) -> str | None:
            state = events.get(ids.get(key, ""))
            value = state.content.get(field) if state is not None else None
            return value if isinstance(value, str) and value else None

        out: dict[str, Any] = {}
        if (sender_name := text(("m.room.member", event.sender), "displayname")) is not None:
            out["sender_display_name"] = sender_name
        alias = text(("m.room.canonical_alias", ""), "alias")
        # Like Synapse, the human-readable room name falls back to the alias.
        if (name := text(("m.room.name", ""), "name") or alias) is not None:
            out["room_name"] = name
        if alias is not None:
            out["room_alias"] = alias
        return out


def build_payload(event: StoredEvent, n: Notification, pusher: Pusher, unread: int,
                  room: Mapping[str, Any]) -> dict[str, Any]:
    """The ``POST /_matrix/push/v1/notify`` body for one notification and one pusher."""
    tweaks = pr.tweaks(n.actions)
    # Loud pushes (a sound, a highlight) or encrypted ones the server cannot judge are
    # urgent; the rest may wait for the device's next wake-up.
    high = event.type == "m.room.encrypted" or bool(tweaks.get("highlight")) or \
        bool(tweaks.get("sound"))
    notification: dict[str, Any] = {
        "event_id": event.event_id,
        "room_id": event.room_id,
        "prio": "high" if high else "low",
        # Always, zero included: gateways set the app's badge from it (Synapse too).
        "counts": {"unread": unread},
    }
    if pusher.data.get("format") != "event_id_only":
        # The event ID under the name older gateways (and Synapse's payload) use.
        notification["id"] = event.event_id
        notification["type"] = event.type
        notification["sender"] = event.sender
        if event.content:
            notification["content"] = event.content
        if event.type == "m.room.member" and event.state_key is not None:
            notification["user_is_target"] = event.state_key == n.user_id
        for key in ("sender_display_name", "room_name", "room_alias"):
            if key in room:
                notification[key] = room[key]
    notification["devices"] = [{
        "app_id": pusher.app_id,
        "pushkey": pusher.pushkey,
        "pushkey_ts": pusher.pushkey_ts // 1000,
        "data": {k: v for k, v in pusher.data.items() if k != "url"},
        "tweaks": tweaks,
    }]
    return {"notification": notification}


__all__ = ["NotPublicAddress", "PinnedBackend", "PushGateway", "build_payload",
           "checked_addresses"]
