"""The push store on the engine under test: unread counts against read positions, the
delivery queue (claims, leases, backoff), and rows going with their event, room, pusher
and device."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.events import NewEvent
from glia.storage.push import Notification, Pusher, RoomNotification

ROOM = "!room:test"
BOB = "@bob:test"


async def _setup(storage: Storage, events: int) -> None:
    """Bob with a device, a room, and ``events`` events at streams 1..events."""
    async with storage.transaction() as tx:
        await tx.users.create(BOB, None, admin=False, user_type=None, creation_ts=1)
        await tx.devices.upsert(BOB, "PHONE", None, 1)
        await tx.rooms.create(ROOM, "12", "@alice:test", 1)
        for stream in range(1, events + 1):
            pdu = {"type": "m.room.message", "sender": "@alice:test",
                   "origin_server_ts": stream, "content": {"body": str(stream)}}
            await tx.events.insert(NewEvent(f"$e{stream}", ROOM, stream, stream, pdu, {},
                                            None, None, None, None))


def _note(stream: int, highlight: bool = False, user_id: str = BOB) -> Notification:
    actions: list[object] = ["notify", {"set_tweak": "highlight"}] if highlight else ["notify"]
    return Notification(user_id, ROOM, f"$e{stream}", stream, "main", actions,  # type: ignore[arg-type]
                        highlight, 1000 + stream)


def _pusher(pushkey: str = "key") -> Pusher:
    return Pusher(BOB, "app", pushkey, "http", "App", "Phone", "", "en",
                  {"url": "http://gw/_matrix/push/v1/notify"}, "PHONE", 5)


async def _failing_since(storage: Storage, pushkey: str) -> int | None:
    [p] = [p for p in await storage.push.pushers_of_user(BOB) if p.pushkey == pushkey]
    return p.failing_since_ts


async def test_unread_counts_and_read_positions(storage: Storage) -> None:
    await _setup(storage, 4)
    await storage.push.add_notifications([_note(1), _note(2, highlight=True), _note(3),
                                          _note(4, highlight=True)])
    push = storage.push
    assert await push.unread_counts(BOB, [ROOM, "!other:test"]) == {ROOM: (4, 2)}
    assert await push.total_unread(BOB) == 4
    await push.mark_read(BOB, ROOM, 2)
    assert await push.unread_counts(BOB, [ROOM]) == {ROOM: (2, 1)}
    # Read positions only move forwards.
    await push.mark_read(BOB, ROOM, 1)
    assert await push.read_markers(BOB, [ROOM]) == {ROOM: 2}
    await push.mark_read(BOB, ROOM, 4)
    assert await push.unread_counts(BOB, [ROOM]) == {}
    assert await push.total_unread(BOB) == 0
    # A room that does not exist is ignored.
    await push.mark_read(BOB, "!nowhere:test", 9)
    assert await push.read_markers(BOB, ["!nowhere:test"]) == {}
    # Newest first, paged by stream, highlight filter.
    page = await push.notifications(BOB, None, 2, False)
    assert [n.stream for n in page] == [4, 3]
    assert [n.stream for n in await push.notifications(BOB, 3, 10, False)] == [2, 1]
    assert [n.stream for n in await push.notifications(BOB, None, 10, True)] == [4, 2]
    assert page[0].actions == ["notify", {"set_tweak": "highlight"}] and page[0].highlight
    # Retention deletes only read notifications older than the cut-off.
    await push.mark_read(BOB, ROOM, 3)
    assert await push.delete_read_before(1003, 100, "test") == 2
    assert [n.stream for n in await push.notifications(BOB, None, 10, False)] == [4, 3]


async def test_delivery_queue(storage: Storage) -> None:
    await _setup(storage, 2)
    push = storage.push
    await push.upsert_pusher(_pusher("a"))
    await push.upsert_pusher(_pusher("b"))
    await push.add_notifications([_note(1)])
    assert await push.queue_deliveries([BOB], 1, now=100) == 2
    assert await push.next_due() == 100
    assert await push.claim_due(now=99, lease_until=1000, limit=10) == []
    claimed = await push.claim_due(now=100, lease_until=1000, limit=1)
    assert len(claimed) == 1 and claimed[0].attempts == 1
    assert claimed[0].notification.event_id == "$e1" and claimed[0].created_ts == 100
    # A claimed push is leased: nobody else gets it until the lease runs out.
    [other] = await push.claim_due(now=100, lease_until=1000, limit=10)
    assert {claimed[0].pusher.pushkey, other.pusher.pushkey} == {"a", "b"}
    assert await push.claim_due(now=999, lease_until=2000, limit=10) == []
    again = next(d for d in await push.claim_due(now=1000, lease_until=2000, limit=10)
                 if d.pusher.pushkey == "a")
    assert again.attempts == 2
    # Backoff: the retry time of the push and of its pusher's other queued pushes.
    await push.add_notifications([_note(2)])
    await push.queue_deliveries([BOB], 2, now=1500)
    await push.retry_delivery(again, 5000)
    await push.postpone_pusher(again.pusher, 5000)
    assert await _failing_since(storage, "a") is None
    assert await push.delivery_failed(again.pusher, 1500) == 1500
    assert await push.delivery_failed(again.pusher, 1700) == 1500
    # Pusher "a" waits until 5000; "b" has its lease-expired push and the new one.
    due = await push.claim_due(now=4999, lease_until=6000, limit=10)
    assert sorted((d.pusher.pushkey, d.notification.stream) for d in due) == [
        ("b", 1), ("b", 2)]
    await push.finish_delivery(due[0])
    assert await _failing_since(storage, again.pusher.pushkey) == 1500
    await push.delivered(again.pusher, 1800)
    assert await _failing_since(storage, again.pusher.pushkey) is None
    [a] = [p for p in await push.pushers_of_user(BOB) if p.pushkey == again.pusher.pushkey]
    assert a.last_success_ts == 1800
    assert await push.pending_deliveries(BOB) == {("app", "a"): 2, ("app", "b"): 1}


async def test_rows_go_with_what_they_belong_to(storage: Storage) -> None:
    await _setup(storage, 2)
    push = storage.push
    await push.upsert_pusher(_pusher("a"))
    await push.add_notifications([_note(1), _note(2)])
    await push.queue_deliveries([BOB], 1, now=1)
    await push.queue_deliveries([BOB], 2, now=1)
    # A redacted event's notification and its queued push.
    await push.delete_event_notifications("$e1")
    assert [n.stream for n in await push.notifications(BOB, None, 10, False)] == [2]
    assert await push.pending_deliveries(BOB) == {("app", "a"): 1}
    # A purged event.
    await storage.engine.execute("DELETE FROM events WHERE event_id = ?", "$e2")
    assert await push.notifications(BOB, None, 10, False) == []
    assert await push.pending_deliveries(BOB) == {}
    # A deleted device takes its pushers (and their queue) along.
    await push.upsert_pusher(_pusher("b"))
    await storage.devices.delete(BOB, "PHONE")
    assert await push.pushers_of_user(BOB) == []
    # A pusher set by a token without a device row keeps no device.
    await push.upsert_pusher(_pusher("c"))
    [kept] = await push.pushers_of_user(BOB)
    assert kept.device_id is None


async def test_room_wide_rows_count_for_members_joined_at_the_event(storage: Storage) -> None:
    """A room-wide row counts for each member joined at its event (membership
    intervals in room_state), never for its sender, and not for a member whose own row
    says otherwise; retention deletes it once every local member joined then read it."""
    await _setup(storage, 6)
    carol, dave = "@carol:test", "@dave:test"
    for user_id, start, end in ((BOB, 1, None), (carol, 1, 4), (dave, 3, None),
                                ("@eve:elsewhere", 1, None)):
        await storage.engine.execute(
            "INSERT INTO room_state (room_id, type, state_key, event_id, membership,"
            " from_stream, to_stream) VALUES (?, 'm.room.member', ?, ?, 'join', ?, ?)",
            ROOM, user_id, f"$join-{user_id}", start, end)
    push = storage.push
    for stream in range(2, 7):
        await push.add_room_notification(RoomNotification(
            ROOM, f"$e{stream}", stream, carol if stream == 5 else "@alice:test", "main",
            ["notify"], stream == 6, 1000 + stream))  # type: ignore[list-item]
    # Bob's own rule silenced event 3; Dave was highlighted by name in event 4.
    await push.add_notifications([
        Notification(BOB, ROOM, "$e3", 3, "main", [], False, 1003, notify=False),
        _note(4, highlight=True, user_id=dave)])
    assert await push.unread_counts(BOB, [ROOM]) == {ROOM: (4, 1)}  # 2, 4, 5, 6
    assert await push.unread_counts(carol, [ROOM]) == {ROOM: (2, 0)}  # 2, 3; left at 4
    assert await push.unread_counts(dave, [ROOM]) == {ROOM: (4, 2)}  # joined at 3
    assert [n.stream for n in await push.notifications(BOB, None, 10, False)] == [6, 5, 4, 2]
    assert [(n.stream, n.highlight) for n in await push.notifications(dave, None, 10, False)
            ] == [(6, True), (5, False), (4, True), (3, False)]
    assert await push.total_unread(dave) == 4
    await push.mark_read(dave, ROOM, 4)
    assert await push.unread_counts(dave, [ROOM]) == {ROOM: (2, 1)}
    assert await push.events_with_notifications(["$e1", "$e3", "$e4"]) == {"$e3", "$e4"}
    # Retention: a room-wide row goes once every local member joined at its event read
    # it (the remote member does not count); an exclusion only after its room-wide row.
    await push.mark_read(BOB, ROOM, 6)
    assert await push.delete_read_before(2000, 100, "test") == 2  # row 4, Dave's own 4
    await push.mark_read(carol, ROOM, 3)
    assert await push.delete_read_before(2000, 100, "test") == 3  # rows 2, 3, Bob's 3
    assert await push.unread_counts(BOB, [ROOM]) == {}
    assert [n.stream for n in await push.notifications(dave, None, 10, False)] == [6, 5]
