"""Admin operations on application services: their delivery health, pausing and resuming
delivery, and retrying at once after a back-off. Each write is audited by the request's
unit of work."""

from __future__ import annotations

from dataclasses import dataclass

from glia import errors
from glia.services.appservices.sender import AppServiceSender
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage


@dataclass(frozen=True)
class AppServiceHealth:
    id: str
    url: str | None
    sender: str
    protocols: list[str]
    paused: bool
    #: Items queued for it and not yet accepted.
    backlog: int
    last_success_ts: int | None
    failing_since_ts: int | None
    last_error: str | None
    #: When the next attempt is due after a failure (None: not backing off).
    next_attempt_ts: int | None
    failed_attempts: int


class AppServiceAdminService:
    def __init__(self, storage: Storage, sender: AppServiceSender) -> None:
        self._storage = storage
        self._sender = sender

    async def list(self) -> list[AppServiceHealth]:
        return [AppServiceHealth(
            h.service.id, h.service.url, h.service.sender, list(h.service.protocols),
            h.state.paused, h.state.backlog, h.state.last_success_ts,
            h.state.failing_since_ts, h.state.last_error,
            h.state.next_attempt_ts or None, h.state.attempts)
            for h in await self._sender.health()]

    async def get(self, service_id: str) -> AppServiceHealth:
        for health in await self.list():
            if health.id == service_id:
                return health
        raise errors.not_found("No application service with this id")

    async def set_paused(self, uow: UnitOfWork, service_id: str, paused: bool) -> None:
        await self.get(service_id)
        async with uow.transaction() as tx:
            await tx.appservices.set_paused(service_id, paused)
        self._sender.wake(service_id)

    async def retry_now(self, uow: UnitOfWork, service_id: str) -> None:
        """End a back-off: the next attempt is made at once."""
        await self.get(service_id)
        async with uow.transaction() as tx:
            await tx.appservices.retry_now(service_id)
        self._sender.wake(service_id)
