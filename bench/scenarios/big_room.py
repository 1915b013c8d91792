"""10. Big room: N members joined with the admin join API, then messages sent into it —
server CPU per event, send latency, and how long the joins took.

The cost of an event in a big room is dominated by what the server does per member (push
rules, unread counts), so this scenario measures CPU rather than wall time: the server's
user + system CPU (its whole process tree, from ``/proc/PID/stat``) over the messages,
divided by their number. Messages are sent one at a time by one member, without
``m.mentions``, so the legacy display-name rule is evaluated for every member.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.client import User, percentile, q
from bench.memory import process_tree
from bench.scale import Scale
from bench.scenarios.base import Metric, NotAvailable, Outcome, Scenario
from bench.target import Target, bounded, text

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants so far, in seconds."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state is field 3, utime 14 and stime 15 (1-based).
        total += int(fields[11]) + int(fields[12])
    return total / _TICKS


async def run(t: Target, scale: Scale) -> Outcome:
    if not Path("/proc/self/stat").exists():
        raise NotAvailable("needs /proc to read the server's CPU time")
    admin = await t.get_admin()
    members = await t.fresh_users(scale.big_room_members)
    room = await t.client.create_room(admin, preset="public_chat", name="bench big room join")
    progress = t.progress("joining with the admin join API", len(members))
    join_ms: list[float] = []

    async def join(i: int) -> None:
        timed = await t.client.call("POST", f"/_synapse/admin/v1/join/{q(room)}",
                                    admin.access_token, json={"user_id": members[i].user_id})
        join_ms.append(timed.ms)
        progress.step()

    start = time.perf_counter()
    await bounded(len(members), 1, join)
    join_s = time.perf_counter() - start
    last = join_ms[-max(1, len(join_ms) // 10):]

    sender: User = members[0]
    pid = t.server.proc.pid
    cpu0, start = cpu_seconds(pid), time.perf_counter()
    send_ms = []
    progress = t.progress("sending into the big room", scale.big_room_messages)
    for k in range(scale.big_room_messages):
        send_ms.append((await t.client.send_text(sender, room, text(t.rng, k))).ms)
        progress.step()
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(pid) - cpu0
    t.messages_written += scale.big_room_messages
    return Outcome(
        {
            "cpu_ms_per_event": cpu * 1000 / scale.big_room_messages,
            "send_p50_ms": percentile(send_ms, 50),
            "join_total_s": join_s,
            "join_last_ms": sum(last) / len(last),
        },
        {"members": len(members) + 1, "messages": scale.big_room_messages,
         "send_seconds": elapsed, "join_p50_ms": percentile(join_ms, 50)},
    )


SCENARIO = Scenario(
    name="big_room",
    title="Big room (admin joins, then messages: CPU per event)",
    metrics=[
        Metric("cpu_ms_per_event", "CPU/event", "ms", "lower"),
        Metric("send_p50_ms", "send p50", "ms", "lower"),
        Metric("join_total_s", "joins total", "s", "lower"),
        Metric("join_last_ms", "last 10% joins", "ms", "lower"),
    ],
    requires=[
        ("POST", "/_synapse/admin/v1/join/!probe:localhost"),
        ("PUT", "/_matrix/client/v3/rooms/!probe:localhost/send/m.room.message/probe"),
    ],
    run=run,
)
