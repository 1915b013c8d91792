"""5. ``/messages`` backwards through the big room, ``limit`` events a page — events/s.

Also the median page time over the first and the last ten pages: the target is a page
cost that stays flat however deep the room.
"""

from __future__ import annotations

import statistics
import time

from bench.client import q
from bench.scale import Scale
from bench.scenarios.base import Metric, Outcome, Scenario
from bench.target import Target


async def run(t: Target, scale: Scale) -> Outcome:
    room, reader = await t.get_big_room()
    path = f"/_matrix/client/v3/rooms/{q(room)}/messages"
    params: dict[str, object] = {"dir": "b", "limit": scale.messages_limit}
    pages: list[float] = []
    events = 0
    progress = t.progress("paging", scale.big_room_events // scale.messages_limit + 1)
    start = time.perf_counter()
    while True:
        r = await t.client.call("GET", path, reader.access_token, params=params)
        chunk = r.body.get("chunk", [])
        if not chunk:
            break
        pages.append(r.ms)
        events += len(chunk)
        progress.step()
        if not r.body.get("end") or len(pages) > scale.big_room_events:  # bounded
            break
        params["from"] = r.body["end"]
    elapsed = time.perf_counter() - start
    n = min(10, len(pages))
    return Outcome(
        {
            "events_per_s": events / elapsed,
            "first_pages_ms": statistics.median(pages[:n]),
            "last_pages_ms": statistics.median(pages[-n:]),
        },
        {"events": events, "pages": len(pages), "limit": scale.messages_limit},
    )


SCENARIO = Scenario(
    name="messages",
    title="/messages backwards through the big room",
    metrics=[
        Metric("events_per_s", "events/s", "events/s", "higher"),
        Metric("first_pages_ms", "page, first 10 (median)", "ms", "lower"),
        Metric("last_pages_ms", "page, last 10 (median)", "ms", "lower"),
    ],
    requires=[
        ("POST", "/_matrix/client/v3/createRoom"),
        ("PUT", "/_matrix/client/v3/rooms/!probe:localhost/send/m.room.message/probe"),
        ("GET", "/_matrix/client/v3/rooms/!probe:localhost/messages"),
    ],
    run=run,
)
