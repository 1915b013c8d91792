"""Send-to-device messaging: ``PUT /sendToDevice/{eventType}/{txnId}`` queues one message
per target device in the device's inbox, which its ``/sync`` then delivers
(``KeysService.sync_section``) and deletes once acknowledged.

Messages for other servers' users are handed, in the same transaction, to the
federation side (``federation/to_device.py``), which queues one ``m.direct_to_device``
EDU per server; messages other servers send our users arrive through :meth:`deliver`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.ids import InvalidId, parse_user_id
from glia.services.notifier import Notifier
from glia.storage import Stores

if TYPE_CHECKING:
    from glia.services.appservices.ephemeral import AppServiceEphemeral
    from glia.services.unit_of_work import UnitOfWork

#: How long a transaction ID is remembered (a client retries within seconds or minutes).
TXN_KEEP_MS = 24 * 60 * 60 * 1000
ALL_DEVICES = "*"

#: user ID → device ID (or ``*``) → the message content.
Messages = dict[str, dict[str, dict[str, Any]]]


#: Where messages for other servers' users go, in the sending transaction: (tx, sender,
#: event type, messages by server) — the federation side's queue.
RemoteToDevice = Callable[[Stores, str, str, dict[str, Messages]], Awaitable[None]]


class ToDeviceService:
    def __init__(self, config: Config, notifier: Notifier,
                 appservices: AppServiceEphemeral | None = None,
                 remote: RemoteToDevice | None = None) -> None:
        self._appservices = appservices
        self._config = config
        self._notifier = notifier
        self._remote = remote

    async def send(self, uow: UnitOfWork, event_type: str, txn_id: str,
                   messages: Messages) -> None:
        """Queue the caller's messages in the request's transaction, once per (sending
        device, txn ID): a retried request with the same transaction ID is answered again
        without queueing anything twice."""
        requester = uow.requester
        if not event_type:
            raise errors.invalid_param("Event type may not be empty")
        targets, remote = self._targets(messages)
        recipients: set[str] = set()
        async with uow.transaction() as tx:
            if not await tx.to_device.claim_txn(requester.user_id, requester.device_id, txn_id,
                                                now_ms(), TXN_KEEP_MS):
                return
            recipients = await self.deliver(tx, requester.user_id, event_type, targets)
            if remote and self._remote is not None:
                await self._remote(tx, requester.user_id, event_type, remote)
        if recipients:
            await self._notifier.notify(users=sorted(recipients))

    async def deliver(self, tx: Stores, sender: str, event_type: str,
                      targets: Messages) -> set[str]:
        """Put messages for our users (``*``: each of the user's devices) into their
        devices' inboxes in ``tx``; the users who got any (wake them after commit)."""
        queued: list[tuple[str, str, dict[str, Any]]] = []
        for user_id, sent in targets.items():
            by_device = dict(sent)
            everyone = by_device.pop(ALL_DEVICES, None)
            if everyone is not None:
                for device_id in await tx.to_device.device_ids(user_id):
                    by_device.setdefault(device_id, everyone)
            queued += [(user_id, d, c) for d, c in sorted(by_device.items())]
        if not queued:
            return set()
        position = await tx.next_stream_position()
        if not await tx.to_device.add(position, sender, event_type, queued):
            return set()
        if self._appservices is not None:
            await self._appservices.to_device_in(tx, sender, event_type, queued)
        return {user_id for user_id, _, _ in queued}

    async def wake(self, users: set[str]) -> None:
        if users:
            await self._notifier.notify(users=sorted(users))

    def _targets(self, messages: Messages) -> tuple[Messages, dict[str, Messages]]:
        """The messages for local users, and for other servers' users by server (user
        IDs checked). A device named explicitly gets its own content even when ``*`` is
        also given."""
        local: Messages = {}
        remote: dict[str, Messages] = {}
        for user_id, by_device in messages.items():
            try:
                domain = parse_user_id(user_id).domain
            except InvalidId as e:
                raise errors.invalid_param(f"Invalid user ID {user_id!r}") from e
            if domain == self._config.server_name:
                local[user_id] = dict(by_device)
            elif by_device:
                remote.setdefault(domain, {})[user_id] = dict(by_device)
        return local, remote
