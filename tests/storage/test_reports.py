"""Reports to the server admins on the engine under test: round trips, deletes by kind,
and the list's filters (substring, case-insensitive, literal wildcards) and pages."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.reports import Report, ReportQuery
from tests.storage.helpers import MAX_SAFE


async def _fill(storage: Storage) -> None:
    r = storage.reports
    await r.insert(1, "event", 10, "@Alice:test", room_id="!room_1:test", event_id="$e",
                   event_sender="@bad:test", reason="späm 🐝", score=-100)
    await r.insert(2, "room", 20, "@bob:test", room_id="!other:test", reason=None)
    await r.insert(3, "user", 30, "@alice:test", reported_user_id="@bad:test", reason="x")
    await r.insert(MAX_SAFE, "event", MAX_SAFE, "@carol:test", room_id="!roomx1:test",
                   event_id="$f", event_sender="@BAD:test")


async def test_round_trip_and_delete(storage: Storage) -> None:
    await _fill(storage)
    r = storage.reports
    assert await r.get(1) == Report(1, "event", 10, "@Alice:test", "!room_1:test", "$e",
                                    "@bad:test", None, "späm 🐝", -100)
    assert await r.get(2) == Report(2, "room", 20, "@bob:test", "!other:test", None, None,
                                    None, None, None)
    big = await r.get(MAX_SAFE)
    assert big is not None and big.received_ts == MAX_SAFE
    assert await r.get(99) is None
    # A delete of the wrong kind removes nothing.
    assert not await r.delete(3, "event")
    assert await r.delete(3, "user")
    assert not await r.delete(3)
    assert await r.delete(2)
    assert [x.report_id for x in (await r.page(ReportQuery(), offset=0, limit=10,
                                               newest_first=False))[0]] == [1, MAX_SAFE]


async def _ids(storage: Storage, query: ReportQuery, **kwargs: object) -> tuple[list[int], int]:
    args: dict[str, object] = {"offset": 0, "limit": 10, "newest_first": False}
    args.update(kwargs)
    rows, total = await storage.reports.page(query, **args)  # type: ignore[arg-type]
    return [x.report_id for x in rows], total


async def test_list_filters_and_pages(storage: Storage) -> None:
    await _fill(storage)
    assert await _ids(storage, ReportQuery()) == ([1, 2, 3, MAX_SAFE], 4)
    assert await _ids(storage, ReportQuery(), newest_first=True, offset=1, limit=2) == (
        [3, 2], 4)
    assert await _ids(storage, ReportQuery(), offset=4) == ([], 4)
    assert await _ids(storage, ReportQuery(kind="event")) == ([1, MAX_SAFE], 2)
    # Substring filters ignore case on both engines.
    assert await _ids(storage, ReportQuery(user_id="ALICE")) == ([1, 3], 2)
    assert await _ids(storage, ReportQuery(reported_user_id="bad")) == ([3], 1)
    # "_" and "%" are literal characters, not wildcards.
    assert await _ids(storage, ReportQuery(room_id="room_")) == ([1], 1)
    assert await _ids(storage, ReportQuery(room_id="%")) == ([], 0)
    # The event sender matches exactly.
    assert await _ids(storage, ReportQuery(event_sender="@bad:test")) == ([1], 1)
    assert await _ids(storage, ReportQuery(kind="event", user_id="carol")) == ([MAX_SAFE], 1)
