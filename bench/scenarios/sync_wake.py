"""3. Sync wake latency: one message at a time to a long-polling ``/sync`` receiver.

The latency runs from the moment the sender starts ``PUT …/send`` to the moment the
receiver's pending ``/sync`` returns with that message: what a chat user feels. Between
messages the sender waits until the receiver has re-issued its long-poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from bench.client import percentile, q
from bench.scale import Scale
from bench.scenarios.base import Metric, Outcome, Scenario
from bench.target import Target

PARK_S = 0.05  # time for the receiver's new long-poll to reach the server and wait


async def run(t: Target, scale: Scale) -> Outcome:
    sender, receiver = await t.fresh_users(2)
    room = await t.client.create_room(sender, preset="public_chat", name="bench wake")
    await t.client.join(receiver, room)
    since = (await t.client.call("GET", "/_matrix/client/v3/sync", receiver.access_token,
                                 params={"timeout": 0})).body["next_batch"]
    arrived: dict[str, float] = {}
    waiting: dict[str, asyncio.Event] = {}
    polling = asyncio.Event()

    async def receive() -> None:
        nonlocal since
        while True:
            polling.set()
            body = (await t.client.call(
                "GET", "/_matrix/client/v3/sync", receiver.access_token,
                params={"since": since, "timeout": 30000},
            )).body
            now = time.perf_counter()
            polling.clear()
            since = body["next_batch"]
            timeline = body.get("rooms", {}).get("join", {}).get(room, {}).get("timeline", {})
            for event in timeline.get("events", []):
                marker = event.get("content", {}).get("body", "")
                if marker in waiting and marker not in arrived:
                    arrived[marker] = now
                    waiting[marker].set()

    task = asyncio.create_task(receive())
    latencies: list[float] = []
    progress = t.progress("wake", scale.wake_messages)
    path = f"/_matrix/client/v3/rooms/{q(room)}/send/m.room.message"
    try:
        for i in range(scale.wake_messages):
            await asyncio.wait_for(polling.wait(), 30)
            await asyncio.sleep(PARK_S)
            marker = f"wake {i} {time.time_ns()}"
            waiting[marker] = asyncio.Event()
            start = time.perf_counter()
            await t.client.call("PUT", f"{path}/wake{i}.{time.time_ns()}", sender.access_token,
                                json={"msgtype": "m.text", "body": marker})
            waiter = asyncio.ensure_future(waiting[marker].wait())
            await asyncio.wait([waiter, task], timeout=30, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if task.done():
                task.result()  # the receiver failed: raise its error
            if marker not in arrived:
                raise TimeoutError(f"message {i} did not reach the long-polling /sync in 30 s")
            latencies.append((arrived[marker] - start) * 1000)
            progress.step()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    t.messages_written += scale.wake_messages
    return Outcome(
        {"p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
         "p99_ms": percentile(latencies, 99)},
        {"messages": len(latencies)},
    )


SCENARIO = Scenario(
    name="sync_wake",
    title="Sync wake latency (send → long-polling /sync)",
    metrics=[
        Metric("p50_ms", "wake p50", "ms", "lower"),
        Metric("p95_ms", "wake p95", "ms", "lower"),
        Metric("p99_ms", "wake p99", "ms", "lower"),
    ],
    requires=[
        ("POST", "/_matrix/client/v3/createRoom"),
        ("GET", "/_matrix/client/v3/sync"),
        ("PUT", "/_matrix/client/v3/rooms/!probe:localhost/send/m.room.message/probe"),
    ],
    run=run,
)
