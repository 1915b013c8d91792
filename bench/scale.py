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
    #: Scenario 10: one room grown through these member counts (admin joins); at each,
    #: messages sent into it, a member's lazy-loading sync, /members, admin details.
    big_room_members: tuple[int, ...]
    big_room_messages: int
    #: Scenario 11: the loopback poller's operations: members bulk-joined (then a send
    #: into that room and its purge), and users invited by one createRoom.
    resp_members: int
    resp_messages: int
    resp_invites: int
    #: Scenario 12: long-polling /sync clients (one run per count) spread over rooms,
    #: while messages are sent at a fixed rate for a fixed time.
    many_clients: tuple[int, ...]
    many_rooms: int
    many_rate: float
    many_seconds: float
    #: Scenario 13: messages sent into different rooms through one, then two processes.
    procs_messages: int
    procs_rooms: int
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
    big_room_members=(50, 200), big_room_messages=20,
    resp_members=200, resp_messages=20, resp_invites=200,
    many_clients=(50, 100), many_rooms=10, many_rate=10.0, many_seconds=5.0,
    procs_messages=400, procs_rooms=10,
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
    big_room_members=(1_000, 5_000, 20_000), big_room_messages=100,
    resp_members=4_000, resp_messages=50, resp_invites=4_000,
    many_clients=(100, 500, 1_000), many_rooms=100, many_rate=50.0, many_seconds=30.0,
    procs_messages=4_000, procs_rooms=20,
    time_limit_s=3_600,
)

SCALES = {s.name: s for s in (SMALL, FULL)}
