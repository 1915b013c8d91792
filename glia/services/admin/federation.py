"""Synapse's federation destinations admin API: the remote servers Glia has made
federation requests to, their retry state (kept by ``services.federation.backoff``), the
rooms queued for each (none until there is an event sender), and resetting a
destination's back-off."""

from __future__ import annotations

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

__all__ = ["DESTINATION_ORDER", "Destination", "DestinationQuery", "DestinationRoom",
           "FederationAdminService"]


@dataclass(frozen=True)
class DestinationQuery:
    search: str | None
    order_by: str
    backwards: bool
    offset: int
    limit: int


class FederationAdminService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

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
