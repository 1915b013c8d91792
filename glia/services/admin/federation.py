"""Synapse's federation destinations admin API: the remote servers Glia has made
federation requests to, their retry state (kept by ``services.federation.backoff``), the
rooms queued for each (the federation sender records them), and resetting a
destination's back-off; and Glia's own view of a destination's queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from glia import errors
from glia.errors import MatrixError
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage
from glia.storage.federation_destinations import (
    DESTINATION_ORDER,
    Destination,
    DestinationRoom,
)

__all__ = ["DESTINATION_ORDER", "Destination", "DestinationQuery", "DestinationQueue",
           "DestinationRoom", "FederationAdminService"]


@dataclass(frozen=True)
class DestinationQueue:
    """A destination's outbound queue, back-off and the sender's last error."""

    destination: str
    queue_length: int
    retry_last_ts: int | None
    retry_interval: int | None
    failure_ts: int | None
    last_successful_stream_ordering: int | None
    last_error: str | None
    last_error_ts: int | None
    #: EDUs that must not be lost (to-device, device lists) waiting for it.
    edu_queue_length: int = 0


@dataclass(frozen=True)
class DestinationQuery:
    search: str | None
    order_by: str
    backwards: bool
    offset: int
    limit: int


class FederationAdminService:
    def __init__(self, storage: Storage,
                 on_reset: Callable[[str], None] | None = None) -> None:
        """``on_reset(destination)``: wake the sender once a back-off is reset."""
        self._storage = storage
        self._on_reset = on_reset

    async def queue(self, destination: str) -> DestinationQueue:
        """What the sender holds for ``destination``; ``404`` for a server never
        contacted and with nothing queued."""
        known = await self._storage.federation_destinations.get(destination)
        length = await self._storage.federation_queue.length(destination)
        edus = await self._storage.federation_e2ee.edu_count(destination)
        if known is None and not length and not edus:
            raise errors.not_found("Unknown destination")
        error = await self._storage.federation_queue.last_error(destination)
        return DestinationQueue(
            destination, length, known.retry_last_ts if known else None,
            known.retry_interval if known else None, known.failure_ts if known else None,
            known.last_successful_stream_ordering if known else None,
            error.error if error else None, error.error_ts if error else None, edus)

    async def destinations(self, query: DestinationQuery) -> tuple[list[Destination], int]:
        return await self._storage.federation_destinations.page(
            search=query.search, order_by=query.order_by, backwards=query.backwards,
            offset=query.offset, limit=query.limit)

    async def destination(self, destination: str) -> Destination:
        found = await self._storage.federation_destinations.get(destination)
        if found is None:
            raise errors.not_found("Unknown destination")
        return found

    async def rooms(self, destination: str, *, backwards: bool, offset: int, limit: int
                    ) -> tuple[list[DestinationRoom], int]:
        await self.destination(destination)
        return await self._storage.federation_destinations.rooms(
            destination, backwards=backwards, offset=offset, limit=limit)

    async def reset_connection(self, uow: UnitOfWork, destination: str) -> None:
        """Forget the destination's failures so the sender tries it at once; refused,
        as by Synapse, when it is not backing off."""
        known = await self.destination(destination)
        if not known.retry_last_ts:
            raise MatrixError(400, "M_UNKNOWN", "The retry timing does not need to be reset"
                              " for this destination.")
        async with uow.transaction() as tx:
            await tx.federation_destinations.reset_retry(destination)
        if self._on_reset is not None:
            self._on_reset(destination)
