"""The event store on the engine under test: PDUs round-trip, topological and stream
pages with their edges and filters, relations, threads, edits, redaction."""

from __future__ import annotations

import pytest

from glia.storage import Storage
from glia.storage.events import NewEvent, StoredEvent
from tests.storage.helpers import MAX_SAFE, event, room, stream


async def _room(storage: Storage) -> str:
    async with storage.transaction() as tx:
        return await room(tx)


def _ids(events: list[StoredEvent]) -> list[str]:
    return [e.event_id for e in events]


async def test_insert_get_round_trip(shared: Storage) -> None:
    r = await _room(shared)
    at = stream()
    pdu = {"type": "m.room.message", "sender": "@ü:test", "room_id": r,
           "origin_server_ts": MAX_SAFE, "content": {"body": "héllo 🐝 \u2028", "n": MAX_SAFE,
                                                      "url": "mxc://x/y"}}
    await shared.events.insert(NewEvent("$rt", r, at, 7, pdu, {"age_ts": 1}, None, None,
                                        "DEV", "txn1"))
    got = await shared.events.get("$rt")
    assert got == StoredEvent("$rt", r, at, 7, pdu, {"age_ts": 1}, None, "DEV", "txn1")
    assert (got.type, got.sender, got.state_key, got.content["n"]) == (
        "m.room.message", "@ü:test", None, MAX_SAFE)
    assert await shared.events.get("$RT") is None
    # contains_url was derived from content.url.
    assert _ids(await shared.events.page(r, backwards=False, from_pos=None, to_pos=None,
                                         limit=5, contains_url=True)) == ["$rt"]
    assert await shared.events.by_txn("@ü:test", "DEV", "txn1") == got
    assert await shared.events.by_txn("@ü:test", "OTHER", "txn1") is None
    # One transaction ID per sender and device.
    with pytest.raises(Exception):  # noqa: B017 - the unique index
        await shared.events.insert(NewEvent("$dup", r, stream(), 8, pdu, {}, None, None,
                                            "DEV", "txn1"))


async def test_an_integer_past_64_bits_reads_back(shared: Storage) -> None:
    """Events of the oldest room versions may hold integers outside canonical JSON's
    range (from other servers); reading them back must not fail."""
    r = await _room(shared)
    pdu = {"type": "m.room.message", "sender": "@a:test", "room_id": r,
           "origin_server_ts": 1, "content": {"body": "big", "n": 2**70, "f": 1.5}}
    await shared.events.insert(NewEvent("$big", r, stream(), 1, pdu, {}, None, None,
                                        None, None))
    got = await shared.events.get_many(["$big"])
    assert got["$big"].content == {"body": "big", "n": 2**70, "f": 1.5}


async def test_get_many_by_streams_max_depth(shared: Storage) -> None:
    r = await _room(shared)
    async with shared.transaction() as tx:
        a = await event(tx, r, depth=3)
        b = await event(tx, r, depth=9)
    found = await shared.events.get_many([a.event_id, b.event_id, "$missing"])
    assert sorted(found) == sorted([a.event_id, b.event_id])
    assert found[b.event_id].depth == 9
    assert await shared.events.get_many([]) == {}
    assert set(await shared.events.by_streams([a.stream_ordering, -5])) == {a.stream_ordering}
    assert await shared.events.by_streams([]) == {}
    assert await shared.events.max_depth([a.event_id, b.event_id]) == 9
    assert await shared.events.max_depth(["$missing"]) == 0
    assert await shared.events.max_depth([]) == 0


async def test_topological_page_edges(shared: Storage) -> None:
    r = await _room(shared)
    async with shared.transaction() as tx:
        # Two events share depth 2: stream order breaks the tie.
        e1 = await event(tx, r, depth=1)
        e2 = await event(tx, r, depth=2)
        e3 = await event(tx, r, depth=2)
        e4 = await event(tx, r, depth=3)
    pos = {e.event_id: (e.depth, e.stream_ordering) for e in (e1, e2, e3, e4)}
    page = shared.events.page
    everything = [e1.event_id, e2.event_id, e3.event_id, e4.event_id]
    assert _ids(await page(r, backwards=False, from_pos=None, to_pos=None, limit=10)) == \
        everything
    assert _ids(await page(r, backwards=True, from_pos=None, to_pos=None, limit=2)) == [
        e4.event_id, e3.event_id]
    # A position names the gap just after its event: forwards starts after it,
    # backwards with it; ``to`` ends at the same gap seen from the other side.
    assert _ids(await page(r, backwards=False, from_pos=pos[e2.event_id], to_pos=None,
                           limit=10)) == [e3.event_id, e4.event_id]
    assert _ids(await page(r, backwards=True, from_pos=pos[e3.event_id], to_pos=None,
                           limit=10)) == [e3.event_id, e2.event_id, e1.event_id]
    assert _ids(await page(r, backwards=False, from_pos=pos[e1.event_id],
                           to_pos=pos[e3.event_id], limit=10)) == [e2.event_id, e3.event_id]
    assert _ids(await page(r, backwards=True, from_pos=pos[e4.event_id],
                           to_pos=pos[e2.event_id], limit=10)) == [e4.event_id, e3.event_id]
    assert await page(r, backwards=False, from_pos=pos[e4.event_id], to_pos=None,
                      limit=10) == []
    assert _ids(await page(r, backwards=True, from_pos=pos[e1.event_id], to_pos=None,
                           limit=10)) == [e1.event_id]
    before_e1 = (e1.depth, e1.stream_ordering - 1)
    assert await page(r, backwards=True, from_pos=before_e1, to_pos=None, limit=10) == []
    assert await page("!other:test", backwards=False, from_pos=None, to_pos=None,
                      limit=10) == []


async def test_page_filters(shared: Storage) -> None:
    r = await _room(shared)
    async with shared.transaction() as tx:
        a = await event(tx, r, sender="@a:test")
        b = await event(tx, r, sender="@b:test", type="m.reaction")
        c = await event(tx, r, sender="@a:test", type="m.room.topic", state_key="")
        d = await event(tx, r, sender="@c:test", content={"url": "mxc://t/u"})

    async def ids(**kwargs: object) -> list[str]:
        return _ids(await shared.events.page(r, backwards=False, from_pos=None, to_pos=None,
                                             limit=10, **kwargs))  # type: ignore[arg-type]

    assert await ids(types=["m.room.message"]) == [a.event_id, d.event_id]
    assert await ids(not_types=["m.room.message"]) == [b.event_id, c.event_id]
    assert await ids(senders=["@a:test"], not_types=["m.room.topic"]) == [a.event_id]
    assert await ids(not_senders=["@a:test", "@b:test"]) == [d.event_id]
    assert await ids(contains_url=False) == [a.event_id, b.event_id, c.event_id]
    # Empty lists filter nothing out (no "IN ()").
    assert await ids(types=[], senders=[], not_types=[], not_senders=[]) == [
        a.event_id, b.event_id, c.event_id, d.event_id]


async def test_stream_page_and_rooms_with_events(shared: Storage) -> None:
    r, quiet = await _room(shared), await _room(shared)
    async with shared.transaction() as tx:
        evs = [await event(tx, r) for _ in range(5)]
    s = [e.stream_ordering for e in evs]
    # The newest ``limit`` in (after, upto], oldest first.
    assert _ids(await shared.events.stream_page(r, s[0], s[3], 2)) == [
        evs[2].event_id, evs[3].event_id]
    assert _ids(await shared.events.stream_page(r, None, s[4], 10)) == _ids(
        await shared.events.stream_page(r, -1, s[4], 10))
    assert len(await shared.events.stream_page(r, None, s[4], 10)) == 5
    assert await shared.events.stream_page(r, s[4], s[4], 10) == []
    assert await shared.events.rooms_with_events([r, quiet], s[0], s[1]) == {r}
    assert await shared.events.rooms_with_events([r, quiet], s[4], s[4] + 1000) == set()
    assert await shared.events.rooms_with_events([], 0, MAX_SAFE) == set()
    latest = await shared.events.latest_in_room(r)
    assert latest is not None and latest.event_id == evs[-1].event_id
    assert await shared.events.latest_in_room(quiet) is None


async def test_closest_by_ts(shared: Storage) -> None:
    r = await _room(shared)
    async with shared.transaction() as tx:
        a = await event(tx, r, ts=100)
        b = await event(tx, r, ts=200)
        c = await event(tx, r, ts=200)
    closest = shared.events.closest_by_ts
    assert _ids(await closest(r, 150, True, 10)) == [b.event_id, c.event_id]
    assert _ids(await closest(r, 200, True, 1)) == [b.event_id]
    assert _ids(await closest(r, 200, False, 10)) == [c.event_id, b.event_id, a.event_id]
    assert _ids(await closest(r, 99, False, 10)) == []
    assert _ids(await closest(r, 201, True, 10)) == []


async def test_relations_threads_and_edits(shared: Storage) -> None:
    r = await _room(shared)
    async with shared.transaction() as tx:
        root = await event(tx, r, sender="@a:test")
        t1 = await event(tx, r, sender="@b:test", relates_to=root.event_id, rel_type="m.thread")
        edit = await event(tx, r, sender="@a:test", relates_to=root.event_id,
                           rel_type="m.replace")
        react = await event(tx, r, sender="@b:test", type="m.reaction",
                            relates_to=t1.event_id, rel_type="m.annotation")
        t2 = await event(tx, r, sender="@c:test", relates_to=root.event_id, rel_type="m.thread")
        edit2 = await event(tx, r, sender="@a:test", relates_to=root.event_id,
                            rel_type="m.replace")
        lone = await event(tx, r, sender="@a:test")
    rel = shared.events.relations
    assert _ids(await rel(r, root.event_id, None, None, backwards=False, from_stream=None,
                          to_stream=None, limit=10)) == [
        t1.event_id, edit.event_id, t2.event_id, edit2.event_id]
    assert _ids(await rel(r, root.event_id, "m.thread", None, backwards=True,
                          from_stream=None, to_stream=None, limit=10)) == [
        t2.event_id, t1.event_id]
    # Recursion reaches the reaction to the thread reply.
    assert _ids(await rel(r, root.event_id, None, "m.reaction", backwards=False,
                          from_stream=None, to_stream=None, limit=10, max_hops=2)) == [
        react.event_id]
    assert _ids(await rel(r, root.event_id, None, None, backwards=False,
                          from_stream=t1.stream_ordering, to_stream=t2.stream_ordering,
                          limit=10)) == [edit.event_id, t2.event_id]
    assert await rel("!other:test", root.event_id, None, None, backwards=False,
                     from_stream=None, to_stream=None, limit=10) == []
    summaries = await shared.events.thread_summaries(r, [root.event_id, lone.event_id],
                                                     "@b:test")
    assert summaries == {root.event_id: (2, t2.stream_ordering, True)}
    assert await shared.events.thread_summaries(r, [root.event_id], "@z:test") == {
        root.event_id: (2, t2.stream_ordering, False)}
    assert await shared.events.thread_summaries(r, [], "@b:test") == {}
    assert await shared.events.latest_edits(r, [root.event_id, lone.event_id]) == {
        (root.event_id, "@a:test", "m.room.message"): edit2.stream_ordering}
    assert await shared.events.latest_edits(r, []) == {}


async def test_thread_roots(shared: Storage) -> None:
    r = await _room(shared)
    async with shared.transaction() as tx:
        old = await event(tx, r, sender="@a:test")
        new = await event(tx, r, sender="@b:test")
        o1 = await event(tx, r, sender="@c:test", relates_to=old.event_id, rel_type="m.thread")
        n1 = await event(tx, r, sender="@c:test", relates_to=new.event_id, rel_type="m.thread")
        o2 = await event(tx, r, sender="@d:test", relates_to=old.event_id, rel_type="m.thread")
    roots = shared.events.thread_roots
    assert await roots(r, before_stream=None, limit=10, participated_by=None) == [
        (old.event_id, o2.stream_ordering), (new.event_id, n1.stream_ordering)]
    assert await roots(r, before_stream=o2.stream_ordering, limit=10,
                       participated_by=None) == [(new.event_id, n1.stream_ordering)]
    assert await roots(r, before_stream=None, limit=1, participated_by=None) == [
        (old.event_id, o2.stream_ordering)]
    # Participation: the root's sender or any reply's sender.
    assert await roots(r, before_stream=None, limit=10, participated_by="@b:test") == [
        (new.event_id, n1.stream_ordering)]
    assert [x for x, _ in await roots(r, before_stream=None, limit=10,
                                      participated_by="@c:test")] == [old.event_id,
                                                                      new.event_id]
    assert o1.stream_ordering < n1.stream_ordering


async def test_redact_replaces_the_event(shared: Storage) -> None:
    r = await _room(shared)
    async with shared.transaction() as tx:
        root = await event(tx, r)
        edit = await event(tx, r, content={"url": "mxc://t/x"}, relates_to=root.event_id,
                           rel_type="m.replace")
    pruned = {"type": "m.room.message", "sender": "@sender:test", "room_id": r,
              "origin_server_ts": 1, "content": {}}
    await shared.events.redact(edit.event_id, pruned, {"redacted_because": {"x": "é"}}, "$by",
                               original=edit.pdu, room_id=r, redacted_ts=1000)
    got = await shared.events.get(edit.event_id)
    assert got is not None
    assert (got.pdu, got.unsigned, got.redacted_by) == (
        pruned, {"redacted_because": {"x": "é"}}, "$by")
    # The original is set aside for admins until the retention period is over.
    assert await shared.events.original(edit.event_id) == edit.pdu
    assert await shared.events.prune_originals(1000) == 0
    assert await shared.events.original(edit.event_id) == edit.pdu
    assert await shared.events.prune_originals(1001) >= 1
    assert await shared.events.original(edit.event_id) is None
    # It no longer relates to anything and no longer counts as containing a URL.
    assert await shared.events.latest_edits(r, [root.event_id]) == {}
    assert await shared.events.page(r, backwards=False, from_pos=None, to_pos=None,
                                    limit=10, contains_url=True) == []
