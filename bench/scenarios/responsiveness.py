"""11. Responsiveness: what other clients wait while one big operation runs.

A loopback poller (``bench/measure.py``: ``/versions`` and ``whoami`` in turn, one at a time,
every 10 ms, on its own connection) runs during each operation, one after another:

- ``bulk_join``: M members joined to one room with the admin join API, 4 at a time;
- ``send``: messages sent one at a time into that M-member room;
- ``invite_create``: one ``createRoom`` inviting I users;
- ``purge``: the M-member room deleted and purged (``DELETE v2/rooms`` with ``purge``).

Reported per operation: the poller's p50 and p99, and how long the operation took. A
server whose event loop stalls during a big operation shows it in the p99 whatever the
operation's own speed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from bench.client import q
from bench.measure import Poller
from bench.scale import Scale
from bench.scenarios.base import Metric, Outcome, Scenario
from bench.target import Target, bounded, text


async def run(t: Target, scale: Scale) -> Outcome:
    admin = await t.get_admin()
    tok = admin.access_token
    watcher, sender = await t.fresh_users(2)
    ids = await t.provisioned(max(scale.resp_members, scale.resp_invites))
    room = await t.client.create_room(admin, preset="public_chat", name="bench responsive")
    await t.client.join(sender, room)
    metrics: dict[str, float] = {}
    info: dict[str, object] = {}

    async def measured(op: str, operation: Callable[[], Awaitable[object]]) -> None:
        async with Poller(t.server.url, watcher.access_token) as poller:
            start = time.perf_counter()
            await operation()
            seconds = time.perf_counter() - start
        summary = poller.summary()
        metrics[f"p50_ms@{op}"] = summary["p50_ms"]
        metrics[f"p99_ms@{op}"] = summary["p99_ms"]
        metrics[f"op_s@{op}"] = seconds
        info[op] = summary

    join_path = f"/_synapse/admin/v1/join/{q(room)}"
    members = ids[:scale.resp_members]
    progress = t.progress("bulk join", len(members))

    async def join(i: int) -> None:
        await t.client.call("POST", join_path, tok, json={"user_id": members[i]})
        progress.step()

    await measured("bulk_join", lambda: bounded(len(members), 4, join))

    async def send() -> None:
        for k in range(scale.resp_messages):
            await t.client.send_text(sender, room, text(t.rng, k))

    await measured("send", send)

    async def invite_create() -> None:
        created = await t.client.create_room(admin, preset="private_chat",
                                             name="bench invites",
                                             invite=ids[:scale.resp_invites])
        info["invite_room"] = created

    await measured("invite_create", invite_create)

    async def purge() -> None:
        info["purge_s"] = await t.delete_room(room)

    await measured("purge", purge)
    info.update(members=len(members), invites=scale.resp_invites,
                messages=scale.resp_messages)
    return Outcome(metrics, info)


SCENARIO = Scenario(
    name="responsiveness",
    title="Responsiveness (a poller during big operations)",
    metrics=[
        Metric("p50_ms", "poller p50", "ms", "lower"),
        Metric("p99_ms", "poller p99", "ms", "lower"),
        Metric("op_s", "operation", "s", "lower"),
    ],
    requires=[
        ("GET", "/_matrix/client/v3/account/whoami"),
        ("POST", "/_synapse/admin/v1/join/!probe:localhost"),
        ("PUT", "/_synapse/admin/v2/users/@probe:localhost"),
        ("DELETE", "/_synapse/admin/v2/rooms/!probe:localhost"),
    ],
    run=run,
)
