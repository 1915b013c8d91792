"""Send-to-device messages over federation (``m.direct_to_device`` EDUs).

Outbound: the messages a client sends to other servers' users are queued, in the
request's transaction, as one EDU per server in ``federation_edu_queue`` (the sender
carries them like PDUs, so a restart or an unreachable server loses none). Inbound: an
EDU whose ``sender`` belongs to the origin is delivered to our users' devices, once per
(sender, ``message_id``) — a retried EDU is not delivered twice.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from glia.clock import Clock
from glia.ids import InvalidId, server_name_of
from glia.services.to_device import Messages, ToDeviceService
from glia.storage import Storage, Stores

__all__ = ["DIRECT_TO_DEVICE", "FederationToDevice", "queue_edu"]

logger = logging.getLogger(__name__)

DIRECT_TO_DEVICE = "m.direct_to_device"
#: How long a received message ID is remembered (a sender retries within that time).
MESSAGE_ID_KEEP_MS = 24 * 60 * 60 * 1000
EDU_COUNTER = "federation_edu"


async def queue_edu(tx: Stores, kick: Callable[[str], None], destinations: list[str],
                    edu_type: str, content: dict[str, Any], now: int) -> None:
    """Queue an EDU that must not be lost for ``destinations`` in ``tx``, and wake their
    senders once it commits."""
    if not destinations:
        return
    position = await tx.next_stream_position(EDU_COUNTER)
    await tx.federation_e2ee.add_edu(sorted(destinations), position, edu_type, content, now)
    for destination in destinations:
        tx.after_commit(partial(kick, destination))


class FederationToDevice:
    def __init__(self, server_name: str, storage: Storage, to_device: ToDeviceService,
                 kick: Callable[[str], None], clock: Clock) -> None:
        self._server_name = server_name
        self._storage = storage
        self._to_device = to_device
        self._kick = kick
        self._clock = clock

    async def queue(self, tx: Stores, sender: str, event_type: str,
                    by_server: dict[str, Messages]) -> None:
        """One ``m.direct_to_device`` EDU per server, in the sending request's
        transaction."""
        now = self._clock.now_ms()
        for server, messages in sorted(by_server.items()):
            await queue_edu(tx, self._kick, [server], DIRECT_TO_DEVICE, {
                "sender": sender, "type": event_type,
                "message_id": secrets.token_urlsafe(16), "messages": messages}, now)

    async def receive(self, origin: str, content: Mapping[str, Any]) -> None:
        """An inbound ``m.direct_to_device`` EDU: ignored unless its sender is a user of
        the origin and its fields have their types; messages for other servers' users
        are ignored too."""
        sender, event_type = content.get("sender"), content.get("type")
        message_id, messages = content.get("message_id"), content.get("messages")
        if not (isinstance(sender, str) and isinstance(event_type, str) and event_type
                and isinstance(message_id, str) and isinstance(messages, Mapping)):
            logger.info("ignored a malformed %s EDU from %s", DIRECT_TO_DEVICE, origin)
            return
        if _server(sender) != origin:
            logger.info("ignored a %s EDU from %s for sender %s of another server",
                        DIRECT_TO_DEVICE, origin, sender)
            return
        targets: Messages = {}
        for user_id, by_device in messages.items():
            if _server(user_id) != self._server_name or not isinstance(by_device, Mapping):
                continue
            targets[user_id] = {str(d): dict(c) for d, c in by_device.items()
                                if isinstance(c, Mapping)}
        async with self._storage.transaction() as tx:
            if not await tx.federation_e2ee.claim_message_id(
                    sender, message_id, self._clock.now_ms(), MESSAGE_ID_KEEP_MS):
                return
            recipients = await self._to_device.deliver(tx, sender, event_type, targets)
        await self._to_device.wake(recipients)


def _server(user_id: object) -> str | None:
    try:
        return server_name_of(user_id) if isinstance(user_id, str) else None
    except InvalidId:
        return None
