"""The admin audit log store on the engine under test: exact rows, filters, time bounds
and pages in both directions."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.audit import AuditQuery, AuditRow
from tests.storage.helpers import MAX_SAFE


async def _fill(storage: Storage) -> None:
    a = storage.audit
    await a.insert(1, 100, "@admin:test", "users.deactivate", "@u:test",
                   {"body": {"erase": True, "name": "Zoë"}}, "ok", None)
    await a.insert(2, 200, "@admin:test", "rooms.delete", "!r:test", {}, "M_NOT_FOUND", 404)
    await a.insert(3, 300, "@other:test", "users.deactivate", None, {"q": "1"}, "ok", 200)
    await a.insert(4, MAX_SAFE, "@admin:test", "users.deactivate", "@u:test",
                   {"n": MAX_SAFE}, "M_UNKNOWN", 500)


async def _ids(storage: Storage, query: AuditQuery, *, offset: int = 0, limit: int = 10,
               newest_first: bool = True) -> tuple[list[int], int]:
    rows, total = await storage.audit.page(query, offset=offset, limit=limit,
                                           newest_first=newest_first)
    return [r.audit_id for r in rows], total


async def test_rows_round_trip(storage: Storage) -> None:
    await _fill(storage)
    rows, total = await storage.audit.page(AuditQuery(), offset=0, limit=10,
                                           newest_first=False)
    assert total == 4
    assert rows == [
        AuditRow(1, 100, "@admin:test", "users.deactivate", "@u:test",
                 {"body": {"erase": True, "name": "Zoë"}}, "ok", None),
        AuditRow(2, 200, "@admin:test", "rooms.delete", "!r:test", {}, "M_NOT_FOUND", 404),
        AuditRow(3, 300, "@other:test", "users.deactivate", None, {"q": "1"}, "ok", 200),
        AuditRow(4, MAX_SAFE, "@admin:test", "users.deactivate", "@u:test", {"n": MAX_SAFE},
                 "M_UNKNOWN", 500)]


async def test_filters_bounds_and_pages(storage: Storage) -> None:
    await _fill(storage)
    assert await _ids(storage, AuditQuery()) == ([4, 3, 2, 1], 4)
    assert await _ids(storage, AuditQuery(), offset=1, limit=2) == ([3, 2], 4)
    assert await _ids(storage, AuditQuery(), offset=2, limit=2, newest_first=False) == (
        [3, 4], 4)
    assert await _ids(storage, AuditQuery(), offset=4) == ([], 4)
    assert await _ids(storage, AuditQuery(actor="@admin:test")) == ([4, 2, 1], 3)
    assert await _ids(storage, AuditQuery(actor="@ADMIN:test")) == ([], 0)
    assert await _ids(storage, AuditQuery(action="users.deactivate", target="@u:test")) == (
        [4, 1], 2)
    # Time bounds are inclusive at both ends.
    assert await _ids(storage, AuditQuery(since_ts=200, until_ts=300)) == ([3, 2], 2)
    assert await _ids(storage, AuditQuery(since_ts=301)) == ([4], 1)
    assert await _ids(storage, AuditQuery(until_ts=99)) == ([], 0)
