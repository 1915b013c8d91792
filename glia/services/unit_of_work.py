"""One operation's unit of work: who asked, the one transaction it writes in, and the
audit record committed with that transaction.

The server makes one per write request and hands it to the handler, which passes it to
the service. ``async with uow.transaction() as tx`` is how an operation writes: an admin
operation's audit row is inserted into that same transaction, so the log can neither
claim a change that rolled back nor miss one that committed. A request that ends without
such a commit (refused, failed, or successful without writing) is recorded by
:meth:`UnitOfWork.finish` in its own small transaction, with its outcome. A row that
commits with the change records the HTTP status the request will answer: 200 unless the
service said otherwise (:meth:`UnitOfWork.succeeds_with`) before committing.

Room events are written by the single event writer (``services/events``) in its own
transaction per event. An operation whose change *is* events (make_room_admin, a forced
join, an evacuation, a server notice, profile propagation) writes them inside
``with uow.event_writes():``; the persist hook :class:`AuditWithFirstEvent` then
inserts the audit row into the transaction of the first event written, the one that
commits the operation's intent. Later events of the same operation commit on their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from glia import errors
from glia.clock import now_ms
from glia.services.audit import AuditEntry, strip_secrets
from glia.storage import Storage, Stores

if TYPE_CHECKING:
    from glia.services.auth import Requester
    from glia.storage.events import StoredEvent

__all__ = ["AuditWithFirstEvent", "UnitOfWork", "UnitsOfWork", "insert_audit_row"]

#: The unit of work whose event writes are under way in this task (see ``event_writes``).
_writing_events: ContextVar[UnitOfWork | None] = ContextVar("glia_uow_events", default=None)


async def insert_audit_row(tx: Stores, entry: AuditEntry, outcome: str,
                           status: int | None) -> None:
    """Append ``entry`` to the audit log in ``tx`` (secrets stripped)."""
    audit_id = await tx.next_stream_position("audit")
    await tx.audit.insert(audit_id, now_ms(), entry.actor, entry.action, entry.target,
                          strip_secrets(entry.params), outcome, status)


class UnitsOfWork:
    """Where the HTTP layer gets the unit of work of each write request: it holds the
    storage, which handlers themselves never reach."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def begin(self, requester: Requester | None, audit: AuditEntry | None) -> UnitOfWork:
        return UnitOfWork(self._storage, requester, audit)


class UnitOfWork:
    """The requester, the storage, and the audit entry (``None`` for a write that is not
    an admin operation) of one request."""

    def __init__(self, storage: Storage, requester: Requester | None,
                 audit: AuditEntry | None) -> None:
        self._storage = storage
        self._requester = requester
        self.audit = audit
        #: The transaction the audit row was last inserted into (one row per transaction).
        self._inserted_in: Stores | None = None
        #: The HTTP status of success, recorded with the change (see ``succeeds_with``).
        self.success_status = 200

    @property
    def requester(self) -> Requester:
        """The caller (present on every route with a user or admin auth level)."""
        if self._requester is None:
            raise errors.missing_token()
        return self._requester

    @property
    def actor(self) -> str:
        return self.requester.user_id

    @property
    def recorded(self) -> bool:
        """Whether the audit row has committed (always true without an audit entry)."""
        return self.audit is None or self.audit.recorded

    def set_target(self, target: str) -> None:
        """Name the target in the log when the request did not (a generated token)."""
        if self.audit is not None and not self.audit.recorded:
            self.audit.target = target

    def succeeds_with(self, status: int) -> None:
        """The status the request answers if the operation succeeds (201 for a creation);
        said before the change commits, so its audit row records it."""
        self.success_status = status

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Stores]:
        """The operation's transaction; the audit row (if not yet recorded) commits with
        it, or not at all if the block raises."""
        async with self._storage.transaction() as tx:
            yield tx
            await self._record_in(tx, "ok", self.success_status)

    @contextmanager
    def event_writes(self) -> Iterator[None]:
        """Event writes in this block carry the audit row (with the first that commits)."""
        token = _writing_events.set(self)
        try:
            yield
        finally:
            _writing_events.reset(token)

    async def finish(self, outcome: str, status: int | None) -> None:
        """Record how the request ended, if its row did not commit with a change: a
        refusal or failure (``outcome`` is the errcode), or a success that wrote nothing.
        """
        if self.recorded:
            return
        async with self._storage.transaction() as tx:
            await self._record_in(tx, outcome, status)

    async def _record_in(self, tx: Stores, outcome: str, status: int | None) -> None:
        """Insert the audit row into ``tx`` once; it counts as recorded when ``tx``
        commits (rolled back, a later transaction or :meth:`finish` writes it)."""
        entry = self.audit
        if entry is None or entry.recorded or self._inserted_in is tx:
            return
        self._inserted_in = tx
        await insert_audit_row(tx, entry, outcome, status)

        def committed() -> None:
            entry.recorded = True

        tx.after_commit(committed)


class AuditWithFirstEvent:
    """Persist step of the event-write pipeline: the first event an operation writes
    inside ``uow.event_writes()`` commits the operation's audit row with it."""

    async def apply(self, tx: Stores, event: StoredEvent) -> None:
        uow = _writing_events.get()
        if uow is not None:
            await uow._record_in(tx, "ok", uow.success_status)
