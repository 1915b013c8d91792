"""The unit of work on the engine under test: an operation's audit row commits with its
change or not at all, and a request that ends without such a commit is recorded once,
with its outcome."""

from __future__ import annotations

import pytest

from glia.services.audit import AuditEntry, AuditQuery
from glia.services.auth import Requester
from glia.services.unit_of_work import AuditWithFirstEvent, UnitOfWork
from glia.storage import Storage

ADMIN = Requester("@admin:test", "DEV", True, False, "hash")


class Boom(Exception):
    """A write that fails after the change (and the audit row) went into the transaction."""


def _uow(storage: Storage, target: str) -> UnitOfWork:
    entry = AuditEntry(ADMIN.user_id, "registration_tokens.create", target,
                       {"body": {"token": target, "password": "s3cret"}})
    return UnitOfWork(storage, ADMIN, entry)


async def _rows(storage: Storage, target: str) -> list[tuple[str, str, int | None]]:
    rows, _ = await storage.audit.page(AuditQuery(target=target), offset=0, limit=10,
                                       newest_first=False)
    assert all("s3cret" not in str(r.params) for r in rows)
    return [(r.actor, r.outcome, r.status) for r in rows]


async def test_the_audit_row_commits_with_the_change(storage: Storage) -> None:
    uow = _uow(storage, "tok-ok")
    async with uow.transaction() as tx:
        await tx.registration_tokens.create("tok-ok", None, None, 1)
    assert uow.recorded
    await uow.finish("ok", 200)  # already recorded with the change: no second row
    assert await storage.registration_tokens.get("tok-ok") is not None
    assert await _rows(storage, "tok-ok") == [(ADMIN.user_id, "ok", 200)]


async def test_a_creation_records_the_status_it_said_before_committing(
        storage: Storage) -> None:
    """The row commits before the response exists: it records the success status the
    service declared (201 for a creation), not the default 200 or nothing."""
    uow = _uow(storage, "tok-created")
    uow.succeeds_with(201)
    async with uow.transaction() as tx:
        await tx.registration_tokens.create("tok-created", None, None, 1)
    await uow.finish("ok", 201)
    assert await _rows(storage, "tok-created") == [(ADMIN.user_id, "ok", 201)]


async def test_a_write_failing_after_the_audit_insert_leaves_neither(storage: Storage) -> None:
    uow = _uow(storage, "tok-boom")
    with pytest.raises(Boom):
        async with uow.transaction() as tx:
            await tx.registration_tokens.create("tok-boom", None, None, 1)
            # The row goes in at the end of the block; fail after it did.
            await uow._record_in(tx, "ok", None)
            raise Boom()
    assert not uow.recorded
    assert await storage.registration_tokens.get("tok-boom") is None
    assert await _rows(storage, "tok-boom") == []
    # The request's failure is then recorded on its own, once.
    await uow.finish("M_UNKNOWN", 500)
    await uow.finish("M_UNKNOWN", 500)
    assert await _rows(storage, "tok-boom") == [(ADMIN.user_id, "M_UNKNOWN", 500)]
    assert await storage.registration_tokens.get("tok-boom") is None


async def test_a_refusal_is_recorded_without_a_change(storage: Storage) -> None:
    uow = _uow(storage, "tok-refused")
    await uow.finish("M_FORBIDDEN", 403)
    assert await _rows(storage, "tok-refused") == [(ADMIN.user_id, "M_FORBIDDEN", 403)]


async def test_event_writes_commit_the_row_with_the_first_event(storage: Storage) -> None:
    """The persist hook of the event writer: called for every event persisted, it adds
    the row to the first transaction that commits, once, and only inside
    ``event_writes()``."""
    uow = _uow(storage, "tok-events")
    async with storage.transaction() as tx:  # an event outside the block: no row
        await AuditWithFirstEvent().apply(tx, None)  # type: ignore[arg-type]
    assert await _rows(storage, "tok-events") == []
    with uow.event_writes():
        with pytest.raises(Boom):
            async with storage.transaction() as tx:  # the first event's write fails
                await AuditWithFirstEvent().apply(tx, None)  # type: ignore[arg-type]
                raise Boom()
        assert await _rows(storage, "tok-events") == [] and not uow.recorded
        async with storage.transaction() as tx:  # two events in one transaction
            await AuditWithFirstEvent().apply(tx, None)  # type: ignore[arg-type]
            await AuditWithFirstEvent().apply(tx, None)  # type: ignore[arg-type]
        async with storage.transaction() as tx:  # a later event
            await AuditWithFirstEvent().apply(tx, None)  # type: ignore[arg-type]
    assert uow.recorded
    await uow.finish("ok", 200)
    assert await _rows(storage, "tok-events") == [(ADMIN.user_id, "ok", 200)]


async def test_a_write_without_an_audit_entry_records_nothing(storage: Storage) -> None:
    uow = UnitOfWork(storage, ADMIN, None)
    async with uow.transaction() as tx:
        await tx.registration_tokens.create("tok-plain", None, None, 1)
    await uow.finish("ok", 200)
    assert await _rows(storage, "tok-plain") == []
    assert await storage.registration_tokens.get("tok-plain") is not None


async def test_a_client_write_commits_in_the_request_transaction(storage: Storage) -> None:
    """Client services write through ``uow.transaction()``: an audit entry on the unit of
    work (the probe) commits with the account data and the tag, which a write in a
    transaction of the service's own would leave unrecorded."""
    from glia.services.account_data import AccountDataService
    from glia.services.notifier import Notifier

    service = AccountDataService(storage, Notifier())
    user = Requester("@alice:test", "DEV", False, False, "hash")
    for target, write in (
            ("account-data", lambda uow: service.put(uow, user.user_id, None, "org.x",
                                                     {"a": 1})),
            ("tag", lambda uow: service.set_tag(uow, user.user_id, "!r:test", "u.work",
                                                {"order": 0.5}))):
        uow = UnitOfWork(storage, user, AuditEntry(user.user_id, "probe", target, {}))
        await write(uow)
        assert uow.recorded, target
    assert await storage.account_data.get(user.user_id, "", "org.x") == {"a": 1}
