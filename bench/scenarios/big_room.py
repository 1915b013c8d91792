"""10. Big room: one room grown through N₁ < N₂ < … members with the admin join API; at each
size, what one more join costs, what one event costs, a member's lazy-loading initial
``/sync``, ``/members``, the admin room details; finally the room's delete + purge.

The cost of an event or a join in a big room is what the server does per member (push
rules, unread counts, state), so joins and sends are measured in server CPU (see
``bench/measure.py``) as well as wall time. CPU per join is taken over the last 10 % of
the joins that grow the room to N, so it is the cost of a join *at* about N members.
Messages are sent one at a time by one member without ``m.mentions``, so the legacy
display-name rule is evaluated for every member. The members are provisioned
password-less (``PUT v2/users``); two registered users send and sync.
"""

from __future__ import annotations

import statistics

from bench.client import percentile, q
from bench.measure import CpuWindow, have_proc
from bench.scale import Scale
from bench.scenarios.base import Metric, NotAvailable, Outcome, Scenario
from bench.target import Target, text

LAZY_FILTER = ('{"room": {"state": {"lazy_load_members": true},'
               ' "timeline": {"limit": 20, "lazy_load_members": true}}}')


async def run(t: Target, scale: Scale) -> Outcome:
    if not have_proc():
        raise NotAvailable("needs /proc to read the server's CPU time")
    admin = await t.get_admin()
    tok = admin.access_token
    sender, syncer = await t.fresh_users(2)
    sizes = scale.big_room_members
    ids = await t.provisioned(max(0, sizes[-1] - 3))
    room = await t.client.create_room(admin, preset="public_chat", name="bench big room join")
    for u in (sender, syncer):
        await t.client.join(u, room)
    members = 3
    join_path = f"/_synapse/admin/v1/join/{q(room)}"
    metrics: dict[str, float] = {}
    info: dict[str, dict[str, float]] = {}
    for size in sizes:
        batch = ids[members - 3:size - 3]
        timed = batch[-max(1, len(batch) // 10):] if batch else []
        progress = t.progress(f"joining up to {size} members", len(batch))
        window = CpuWindow(t.server.proc.pid)
        wall_ms: list[float] = []
        for i, user_id in enumerate(batch):
            if i == len(batch) - len(timed):
                window.start()
            r = await t.client.call("POST", join_path, tok, json={"user_id": user_id})
            if i >= len(batch) - len(timed):
                wall_ms.append(r.ms)
            progress.step()
        members = max(members, size)
        window.stop()

        progress = t.progress(f"sending into {size} members", scale.big_room_messages)
        send = CpuWindow(t.server.proc.pid).start()
        send_ms = []
        for k in range(scale.big_room_messages):
            send_ms.append((await t.client.send_text(sender, room, text(t.rng, k))).ms)
            progress.step()
        send.stop()
        t.messages_written += scale.big_room_messages

        sync = await t.client.call("GET", "/_matrix/client/v3/sync", syncer.access_token,
                                   params={"filter": LAZY_FILTER, "timeout": 0})
        # The median of three, as for the admin details: one request is one sample of
        # whatever else the server was finishing (a checkpoint after the sends).
        lists = [await t.client.call("GET", f"/_matrix/client/v3/rooms/{q(room)}/members",
                                     syncer.access_token) for _ in range(3)]
        listed = lists[0]
        if len(listed.body.get("chunk", [])) != members:
            raise RuntimeError(f"/members listed {len(listed.body.get('chunk', []))} of "
                               f"{members} members")
        details = statistics.median([
            (await t.client.call("GET", f"/_synapse/admin/v1/rooms/{q(room)}", tok)).ms
            for _ in range(3)])
        at = {
            "join_cpu_ms": window.cpu * 1000 / len(timed) if timed else float("nan"),
            "join_ms": statistics.mean(wall_ms) if wall_ms else float("nan"),
            "cpu_ms_per_event": send.cpu * 1000 / scale.big_room_messages,
            "send_p50_ms": percentile(send_ms, 50),
            "lazy_sync_ms": sync.ms,
            "members_ms": statistics.median(r.ms for r in lists),
            "details_ms": details,
        }
        metrics.update({f"{k}@{size}": v for k, v in at.items()})
        info[str(size)] = {**at, "lazy_sync_bytes": sync.size, "members_bytes": listed.size,
                           "send_seconds": send.wall, "joins": len(batch)}
    metrics[f"delete_s@{members}"] = await t.delete_room(room)
    t.messages_written -= scale.big_room_messages * len(sizes)
    return Outcome(metrics, {"sizes": info, "messages_per_size": scale.big_room_messages})


SCENARIO = Scenario(
    name="big_room",
    title="Big room (admin joins; per member count)",
    metrics=[
        Metric("join_cpu_ms", "CPU/join", "ms", "lower"),
        Metric("join_ms", "join wall (last 10%)", "ms", "lower"),
        Metric("cpu_ms_per_event", "CPU/event", "ms", "lower"),
        Metric("send_p50_ms", "send p50", "ms", "lower"),
        Metric("lazy_sync_ms", "lazy-loading initial sync", "ms", "lower"),
        Metric("members_ms", "/members", "ms", "lower"),
        Metric("details_ms", "admin room details", "ms", "lower"),
        Metric("delete_s", "delete + purge", "s", "lower"),
    ],
    requires=[
        ("POST", "/_synapse/admin/v1/join/!probe:localhost"),
        ("PUT", "/_synapse/admin/v2/users/@probe:localhost"),
        ("PUT", "/_matrix/client/v3/rooms/!probe:localhost/send/m.room.message/probe"),
        ("GET", "/_matrix/client/v3/rooms/!probe:localhost/members"),
        ("GET", "/_synapse/admin/v1/rooms/!probe:localhost"),
        ("DELETE", "/_synapse/admin/v2/rooms/!probe:localhost"),
    ],
    run=run,
)
