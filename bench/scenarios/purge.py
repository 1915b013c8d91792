"""7. Admin: delete and purge the big room (``v2`` delete, then poll its status) — seconds.

Timed from the ``DELETE`` request to the first status poll that says ``complete``; polls
go out every 25 ms, which bounds the error.
"""

from __future__ import annotations

import asyncio
import time

from bench.client import q
from bench.scale import Scale
from bench.scenarios.base import Metric, Outcome, Scenario
from bench.target import Target

POLL_S = 0.025


async def run(t: Target, scale: Scale) -> Outcome:
    room, _ = await t.get_big_room()
    tok = (await t.get_admin()).access_token
    start = time.perf_counter()
    body = (await t.client.call("DELETE", f"/_synapse/admin/v2/rooms/{q(room)}", tok,
                                json={"purge": True, "block": False})).body
    delete_id = body["delete_id"]
    polls = 0
    while True:
        status = (await t.client.call(
            "GET", f"/_synapse/admin/v2/rooms/delete_status/{q(delete_id)}", tok)).body
        polls += 1
        if status.get("status") == "complete":
            break
        if status.get("status") == "failed":
            raise RuntimeError(f"room delete failed: {status.get('error', status)}")
        await asyncio.sleep(POLL_S)
    elapsed = time.perf_counter() - start
    t.take_big_room()
    return Outcome({"seconds": elapsed},
                   {"events": scale.big_room_events, "polls": polls})


SCENARIO = Scenario(
    name="purge",
    title="Admin: delete + purge the big room",
    metrics=[Metric("seconds", "delete + purge", "s", "lower")],
    requires=[
        ("POST", "/_matrix/client/v3/createRoom"),
        ("PUT", "/_matrix/client/v3/rooms/!probe:localhost/send/m.room.message/probe"),
        ("DELETE", "/_synapse/admin/v2/rooms/!probe:localhost"),
        ("GET", "/_synapse/admin/v2/rooms/delete_status/probe"),
    ],
    run=run,
)
