"""Send-to-device messaging: ``PUT /sendToDevice/{eventType}/{txnId}`` queues one message
per target device in the device's inbox, which its ``/sync`` then delivers
(``KeysService.sync_section``) and deletes once acknowledged.

Only local users are served: Glia has no federation yet, so messages to remote users are
dropped, as the brief for this area says (a remote server could not be reached anyway).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.ids import InvalidId, parse_user_id
from glia.services.notifier import Notifier

if TYPE_CHECKING:
    from glia.services.appservices.ephemeral import AppServiceEphemeral
    from glia.services.unit_of_work import UnitOfWork

#: How long a transaction ID is remembered (a client retries within seconds or minutes).
TXN_KEEP_MS = 24 * 60 * 60 * 1000
ALL_DEVICES = "*"

#: user ID → device ID (or ``*``) → the message content.
Messages = dict[str, dict[str, dict[str, Any]]]


class ToDeviceService:
    def __init__(self, config: Config, notifier: Notifier,
                 appservices: AppServiceEphemeral | None = None) -> None:
        self._appservices = appservices
        self._config = config
        self._notifier = notifier

    async def send(self, uow: UnitOfWork, event_type: str, txn_id: str,
                   messages: Messages) -> None:
        """Queue the caller's messages in the request's transaction, once per (sending
        device, txn ID): a retried request with the same transaction ID is answered again
        without queueing anything twice."""
        requester = uow.requester
        if not event_type:
            raise errors.invalid_param("Event type may not be empty")
        targets = self._targets(messages)
        recipients: set[str] = set()
        async with uow.transaction() as tx:
            if not await tx.to_device.claim_txn(requester.user_id, requester.device_id, txn_id,
                                                now_ms(), TXN_KEEP_MS):
                return
            queued: list[tuple[str, str, dict[str, Any]]] = []
            for user_id, by_device in targets.items():
                everyone = by_device.pop(ALL_DEVICES, None)
                if everyone is not None:
                    for device_id in await tx.to_device.device_ids(user_id):
                        by_device.setdefault(device_id, everyone)
                queued += [(user_id, d, c) for d, c in sorted(by_device.items())]
            if queued:
                position = await tx.next_stream_position()
                if await tx.to_device.add(position, requester.user_id, event_type, queued):
                    recipients = {user_id for user_id, _, _ in queued}
                    if self._appservices is not None:
                        await self._appservices.to_device_in(tx, requester.user_id,
                                                             event_type, queued)
        if recipients:
            await self._notifier.notify(users=sorted(recipients))

    def _targets(self, messages: Messages) -> Messages:
        """The messages for local users (user IDs checked): user → device ID (or ``*``)
        → content. A device named explicitly gets its own content even when ``*`` is
        also given."""
        targets: Messages = {}
        for user_id, by_device in messages.items():
            try:
                domain = parse_user_id(user_id).domain
            except InvalidId as e:
                raise errors.invalid_param(f"Invalid user ID {user_id!r}") from e
            if domain == self._config.server_name:
                targets[user_id] = dict(by_device)
        return targets
