"""2. Send messages: N users in M rooms, C concurrent senders — events/s and latency.

Every user joins every room; sender ``i`` posts its share round-robin over the rooms, one
request at a time, so the latency is what a client waits for ``PUT …/send``.
"""

from __future__ import annotations

import time

from bench.client import User, percentile
from bench.scale import Scale
from bench.scenarios.base import Metric, Outcome, Scenario
from bench.target import Target, bounded


async def run(t: Target, scale: Scale) -> Outcome:
    users = await t.fresh_users(scale.send_users)
    rooms = await bounded(scale.send_rooms, 4, lambda i: t.client.create_room(
        users[0], preset="public_chat", name=f"bench send {i}"))
    await bounded(len(users) - 1, 8, lambda i: _join_all(t, users[i + 1], rooms))
    start = time.perf_counter()
    latencies = await t.send_many(rooms, users, scale.send_messages, scale.send_concurrency,
                                  "sending")
    elapsed = time.perf_counter() - start
    return Outcome(
        {
            "events_per_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99),
        },
        {"messages": len(latencies), "users": len(users), "rooms": len(rooms),
         "concurrency": scale.send_concurrency, "seconds": elapsed},
    )


async def _join_all(t: Target, user: User, rooms: list[str]) -> None:
    for room in rooms:
        await t.client.join(user, room)


SCENARIO = Scenario(
    name="send",
    title="Send messages (concurrent senders)",
    metrics=[
        Metric("events_per_s", "events/s", "events/s", "higher"),
        Metric("p50_ms", "send p50", "ms", "lower"),
        Metric("p95_ms", "send p95", "ms", "lower"),
        Metric("p99_ms", "send p99", "ms", "lower"),
    ],
    requires=[
        ("POST", "/_matrix/client/v3/createRoom"),
        ("POST", "/_matrix/client/v3/join/!probe:localhost"),
        ("PUT", "/_matrix/client/v3/rooms/!probe:localhost/send/m.room.message/probe"),
    ],
    run=run,
)
