"""The admin audit log: every state-changing admin request leaves one row.

The HTTP layer describes the request as an :class:`AuditEntry` (actor, action, target,
parameters with secrets stripped) and puts it in the request's unit of work
(:mod:`glia.services.unit_of_work`), which inserts the row in the same transaction as the
change, so the log can never claim a change that did not commit, nor miss one that did.
Requests that are refused, fail, or succeed without writing are recorded with their
outcome in a small transaction of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from glia.services.paging import next_offset
from glia.storage import Storage
from glia.storage.audit import AuditQuery, AuditRow

__all__ = ["AuditEntry", "AuditLog", "AuditLogEntry", "AuditQuery", "AuditRow",
           "AuditService", "strip_secrets"]

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
    #: Whether the row has committed (set by the unit of work).
    recorded: bool = field(default=False)


class AuditLogEntry(msgspec.Struct):
    """One row of ``GET /_glia/admin/v1/audit_log``: ``status`` is the HTTP status the
    request answered."""

    id: int
    ts: int
    actor: str
    action: str
    target: str | None
    params: dict[str, Any]
    outcome: str
    status: int | None

    @classmethod
    def of(cls, row: AuditRow) -> AuditLogEntry:
        return cls(row.audit_id, row.ts, row.actor, row.action, row.target, row.params,
                   row.outcome, row.status)


class AuditLog(msgspec.Struct):
    """A page of the log; ``next_token`` (a string) only while more remain."""

    entries: list[AuditLogEntry]
    total: int
    next_token: str | UnsetType = UNSET


class AuditService:
    """Reading the log (rows are written by :mod:`glia.services.unit_of_work`)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def page(self, query: AuditQuery, *, offset: int, limit: int,
                   newest_first: bool) -> AuditLog:
        rows, total = await self._storage.audit.page(query, offset=offset, limit=limit,
                                                     newest_first=newest_first)
        following = next_offset(offset, len(rows), total)
        return AuditLog([AuditLogEntry.of(r) for r in rows], total,
                        UNSET if following is None else str(following))
