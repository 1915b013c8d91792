"""Filters: stored per user (``/user/{userId}/filter``) or given inline to ``/sync``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from glia import errors
from glia.protocol.filters import Filter, FilterDefinition, FilterError, parse_filter
from glia.storage import Storage

if TYPE_CHECKING:
    from glia.services.unit_of_work import UnitOfWork

__all__ = ["Filter", "FilterDefinition", "FilterService", "StoredFilter"]

#: A filter definition as the client gave it (it reads back unchanged).
StoredFilter = dict[str, Any]


class FilterService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    @staticmethod
    def _own(requester_id: str, user_id: str, verb: str) -> None:
        if requester_id != user_id:
            raise errors.forbidden(f"Cannot {verb} filters for other users")

    async def create(self, uow: UnitOfWork, user_id: str,
                     definition: FilterDefinition) -> str:
        """Store a (validated) definition of the caller's, in the request's transaction;
        it reads back as it was given."""
        self._own(uow.requester.user_id, user_id, "create")
        async with uow.transaction() as tx:
            return str(await tx.filters.add(user_id, definition.to_json()))

    async def get(self, requester_id: str, user_id: str, filter_id: str) -> StoredFilter:
        self._own(requester_id, user_id, "get")
        definition = await self._stored(user_id, filter_id)
        if definition is None:
            raise errors.not_found("No such filter")
        return definition

    async def _stored(self, user_id: str, filter_id: str) -> StoredFilter | None:
        if not filter_id.isdigit() or len(filter_id) > 18:
            return None
        return await self._storage.filters.get(user_id, int(filter_id))

    async def for_sync(self, user_id: str, param: str | None) -> Filter:
        """The ``filter`` query parameter of ``/sync``: inline JSON or a stored ID."""
        if param is None or param == "":
            return Filter()
        if param.lstrip().startswith("{"):
            try:
                value = json.loads(param)
            except ValueError as e:
                raise errors.not_json("Invalid filter JSON") from e
        else:
            value = await self._stored(user_id, param)
            if value is None:
                raise errors.invalid_param(f"No such filter {param}")
        try:
            return parse_filter(value)
        except FilterError as e:
            raise errors.bad_json(f"Invalid filter: {e}") from e
