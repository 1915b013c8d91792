"""4. Initial ``/sync`` of a user in R rooms × E events — seconds and bytes.

One cold request (Synapse caches identical sync requests for a while, so a repeat would
time the cache). The filter asks for the whole E-event timeline of every room, so both
servers return the same events whatever their default timeline limit.
"""

from __future__ import annotations

import json

from bench.scale import Scale
from bench.scenarios.base import Metric, Outcome, Scenario
from bench.target import Target, bounded, text


async def run(t: Target, scale: Scale) -> Outcome:
    (user,) = await t.fresh_users(1)
    progress = t.progress("filling rooms", scale.isync_rooms)

    async def fill(i: int) -> None:
        room = await t.client.create_room(user, preset="private_chat", name=f"bench isync {i}")
        for k in range(scale.isync_events):
            await t.client.send_text(user, room, text(t.rng, k))
        progress.step()

    await bounded(scale.isync_rooms, 8, fill)
    t.messages_written += scale.isync_rooms * scale.isync_events
    sync_filter = json.dumps({"room": {"timeline": {"limit": scale.isync_events}}})
    r = await t.client.call("GET", "/_matrix/client/v3/sync", user.access_token,
                            params={"filter": sync_filter, "timeout": 0})
    joined = r.body.get("rooms", {}).get("join", {})
    events = sum(len(room.get("timeline", {}).get("events", [])) for room in joined.values())
    return Outcome({"seconds": r.ms / 1000, "bytes": float(r.size)},
                   {"rooms": len(joined), "timeline_events": events})


SCENARIO = Scenario(
    name="initial_sync",
    title="Initial /sync (rooms × events)",
    metrics=[
        Metric("seconds", "initial sync time", "s", "lower"),
        Metric("bytes", "initial sync size", "bytes", "lower"),
    ],
    requires=[
        ("POST", "/_matrix/client/v3/createRoom"),
        ("GET", "/_matrix/client/v3/sync"),
        ("PUT", "/_matrix/client/v3/rooms/!probe:localhost/send/m.room.message/probe"),
    ],
    run=run,
)
