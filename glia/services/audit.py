"""The admin audit log: every state-changing admin request leaves one row.

The HTTP layer describes the request as an :class:`AuditEntry` (actor, action, target,
parameters with secrets stripped). A service that changes something writes through
:meth:`AuditService.transaction`, which inserts the row in the same transaction as the
change, so the log can never claim a change that did not commit, nor miss one that did.
Requests that fail, or succeed without writing, are recorded by the HTTP layer afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from glia.clock import now_ms
from glia.storage import Storage, Stores
from glia.storage.audit import AuditQuery, AuditRow

__all__ = ["AuditEntry", "AuditQuery", "AuditRow", "AuditService", "strip_secrets"]

#: Body and query keys whose values never reach the log.
SECRET_KEYS = frozenset({
    "password", "new_password", "access_token", "refresh_token", "mac", "nonce",
    "shared_secret", "auth",
})
REDACTED = "<redacted>"


def strip_secrets(value: Any) -> Any:
    """A copy of a JSON value with every secret-bearing key's value replaced."""
    if isinstance(value, Mapping):
        return {k: REDACTED if k in SECRET_KEYS else strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value


@dataclass
class AuditEntry:
    """One admin request, as it will appear in the log."""

    actor: str
    action: str
    target: str | None
    params: dict[str, Any]
    recorded: bool = field(default=False)


class AuditService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    @asynccontextmanager
    async def transaction(self, entry: AuditEntry | None) -> AsyncIterator[Stores]:
        """A storage transaction that also commits ``entry``'s audit row."""
        async with self._storage.transaction() as tx:
            yield tx
            if entry is not None and not entry.recorded:
                await self._insert(tx, entry, "ok", None)
        if entry is not None:
            entry.recorded = True

    async def record(self, entry: AuditEntry, outcome: str, status: int | None) -> None:
        """Record a request that wrote nothing through :meth:`transaction` (a failure,
        or a success that changed nothing)."""
        if entry.recorded:
            return
        async with self._storage.transaction() as tx:
            await self._insert(tx, entry, outcome, status)
        entry.recorded = True

    async def _insert(self, tx: Stores, entry: AuditEntry, outcome: str,
                      status: int | None) -> None:
        audit_id = await tx.next_stream_position("audit")
        await tx.audit.insert(audit_id, now_ms(), entry.actor, entry.action, entry.target,
                              strip_secrets(entry.params), outcome, status)

    async def page(self, query: AuditQuery, *, offset: int, limit: int,
                   newest_first: bool) -> tuple[list[AuditRow], int]:
        return await self._storage.audit.page(query, offset=offset, limit=limit,
                                              newest_first=newest_first)
