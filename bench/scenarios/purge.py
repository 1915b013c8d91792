"""7. Admin: delete and purge the big room (``v2`` delete, then poll its status) — seconds.

Timed from the ``DELETE`` request to the first status poll that says ``complete``; polls
go out every 25 ms, which bounds the error.
"""

from __future__ import annotations

from bench.scale import Scale
from bench.scenarios.base import Metric, Outcome, Scenario
from bench.target import Target


async def run(t: Target, scale: Scale) -> Outcome:
    room, _ = await t.get_big_room()
    elapsed = await t.delete_room(room)
    t.take_big_room()
    return Outcome({"seconds": elapsed}, {"events": scale.big_room_events})


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
