"""How much work each scenario does: ``small`` for CI-sized checks, ``full`` per issue 7."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    #: Scenario 1: users registered through shared-secret admin registration.
    register_users: int
    register_concurrency: int
    #: Scenario 2: users, rooms, concurrent senders, messages in total.
    send_users: int
    send_rooms: int
    send_concurrency: int
    send_messages: int
    #: Scenario 3: messages sent one at a time to a long-polling /sync receiver.
    wake_messages: int
    #: Scenario 4: rooms × events of the user whose initial /sync is timed.
    isync_rooms: int
    isync_events: int
    #: Scenarios 5 and 7: events in the "big room" paged with /messages, then purged.
    big_room_events: int
    messages_limit: int
    #: Scenario 6: users and rooms on the server when the admin lists are timed.
    admin_users: int
    admin_rooms: int
    admin_page: int
    #: Scenario 8: events in the database when the full-text index is rebuilt.
    reindex_events: int
    #: Scenario 10: members joined to one room, then messages sent into it.
    big_room_members: int
    big_room_messages: int
    #: Upper bound for one scenario on one server, setup included.
    time_limit_s: float


SMALL = Scale(
    name="small",
    register_users=50, register_concurrency=8,
    send_users=20, send_rooms=10, send_concurrency=20, send_messages=1_000,
    wake_messages=50,
    isync_rooms=10, isync_events=20,
    big_room_events=2_000, messages_limit=100,
    admin_users=500, admin_rooms=100, admin_page=100,
    reindex_events=5_000,
    big_room_members=300, big_room_messages=50,
    time_limit_s=300,
)

FULL = Scale(
    name="full",
    register_users=1_000, register_concurrency=8,
    send_users=20, send_rooms=10, send_concurrency=20, send_messages=10_000,
    wake_messages=200,
    isync_rooms=100, isync_events=20,
    big_room_events=10_000, messages_limit=100,
    admin_users=10_000, admin_rooms=1_000, admin_page=100,
    reindex_events=100_000,
    big_room_members=3_000, big_room_messages=100,
    time_limit_s=3_600,
)

SCALES = {s.name: s for s in (SMALL, FULL)}
