"""12. Many clients: C clients long-polling ``/sync`` in R rooms while messages arrive at a
fixed rate — events delivered, wake latency, server CPU.

Each client is a registered user in one room (client i in room i mod R, joined with the
admin join API) that syncs once and then long-polls ``/sync`` with ``since`` in a loop, on
a connection of its own. One sender posts M messages/s for S seconds, round-robin over
the rooms, each send started on schedule (not waiting for the previous one). Every
(client, message of its room) pair should arrive once: the delivered share says whether
it did, the wake latency runs from the start of the send to the ``/sync`` answer that
carried it. The server's CPU over the sending (and the drain after it, until every
pair arrived or 30 s passed without progress) is divided by that wall time: 100 % is
one core. The run repeats for each client count; later counts reuse the earlier clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable

import httpx

from bench.client import User, percentile, q, txn_id
from bench.measure import CpuWindow, have_proc
from bench.scale import Scale
from bench.scenarios.base import Metric, NotAvailable, Outcome, Scenario
from bench.target import Target

FILTER = '{"room": {"timeline": {"limit": 50}, "state": {"lazy_load_members": true}}}'
DRAIN_S = 30.0


async def run(t: Target, scale: Scale) -> Outcome:
    if not have_proc():
        raise NotAvailable("needs /proc to read the server's CPU time")
    admin = await t.get_admin()
    tok = admin.access_token
    sender = (await t.fresh_users(1))[0]
    rooms = [await t.client.create_room(sender, preset="public_chat", name=f"bench many {r}")
             for r in range(scale.many_rooms)]
    clients: list[User] = []
    metrics: dict[str, float] = {}
    info: dict[str, object] = {}
    for count in scale.many_clients:
        new = await t.fresh_users(count - len(clients))
        progress = t.progress("joining clients", len(new))
        for k, u in enumerate(new, start=len(clients)):
            await t.client.call("POST", f"/_synapse/admin/v1/join/{q(rooms[k % len(rooms)])}",
                                tok, json={"user_id": u.user_id})
            progress.step()
        clients += new
        at = await _round(t, scale, sender, rooms, clients)
        metrics.update({f"{k}@{count}": v for k, v in at.items()
                        if k in ("delivered_pct", "wake_p50_ms", "wake_p99_ms", "cpu_pct")})
        info[str(count)] = at
    return Outcome(metrics, info)


async def _round(t: Target, scale: Scale, sender: User, rooms: list[str],
                 clients: list[User]) -> dict[str, float]:
    """One measurement with these clients polling: the figures for the report."""
    http = httpx.AsyncClient(base_url=t.server.url, timeout=httpx.Timeout(120.0),
                             # Idle connections expire before the server's 5 s keep-alive
                             # does, so a poller never picks one the server just closed.
                             limits=httpx.Limits(max_connections=len(clients) + 4,
                                                 max_keepalive_connections=len(clients) + 4,
                                                 keepalive_expiry=2.0),
                             headers={"Accept-Encoding": "identity"})
    sent: dict[str, tuple[str, float]] = {}  # marker → (room, send start)
    arrived: list[float] = []
    seen: set[tuple[int, str]] = set()
    duplicates = 0
    ready = 0
    all_ready = asyncio.Event()

    async def poll(i: int, user: User) -> None:
        nonlocal duplicates, ready
        room = rooms[i % len(rooms)]
        auth = {"Authorization": f"Bearer {user.access_token}"}
        r = await http.get("/_matrix/client/v3/sync", headers=auth,
                           params={"filter": FILTER, "timeout": 0})
        r.raise_for_status()
        since = r.json()["next_batch"]
        ready += 1
        if ready == len(clients):
            all_ready.set()
        while True:
            r = await http.get("/_matrix/client/v3/sync", headers=auth,
                               params={"filter": FILTER, "since": since, "timeout": 30000})
            now = time.perf_counter()
            r.raise_for_status()
            body = r.json()
            since = body["next_batch"]
            timeline = body.get("rooms", {}).get("join", {}).get(room, {}).get("timeline", {})
            for event in timeline.get("events", []):
                marker = event.get("content", {}).get("body", "")
                if marker in sent:
                    if (i, marker) in seen:
                        duplicates += 1
                        continue
                    seen.add((i, marker))
                    arrived.append((now - sent[marker][1]) * 1000)

    pollers = [asyncio.create_task(poll(i, u)) for i, u in enumerate(clients)]
    progress = t.progress(f"{len(clients)} clients, messages sent",
                          int(scale.many_rate * scale.many_seconds))
    try:
        await _wait(all_ready.wait(), pollers, 300)
        await asyncio.sleep(0.5)  # let the long-polls park
        total = int(scale.many_rate * scale.many_seconds)
        per_room = [sum(1 for i in range(len(clients)) if i % len(rooms) == r)
                    for r in range(len(rooms))]
        expected = sum(per_room[k % len(rooms)] for k in range(total))
        cpu = CpuWindow(t.server.proc.pid).start()
        own = CpuWindow(os.getpid()).start()
        sends: list[asyncio.Task[None]] = []
        path = "/_matrix/client/v3/rooms/{}/send/m.room.message/{}"
        auth = {"Authorization": f"Bearer {sender.access_token}"}

        async def send(k: int) -> None:
            room = rooms[k % len(rooms)]
            marker = f"many {len(clients)} {k}"
            sent[marker] = (room, time.perf_counter())
            r = await http.put(path.format(q(room), txn_id()), headers=auth,
                               json={"msgtype": "m.text", "body": marker})
            r.raise_for_status()

        start = time.perf_counter()
        for k in range(total):
            delay = start + k / scale.many_rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sends.append(asyncio.create_task(send(k)))
            progress.step()
        await asyncio.gather(*sends)
        last, last_change = len(arrived), time.perf_counter()
        while len(arrived) < expected and time.perf_counter() - last_change < DRAIN_S:
            # A generous bound: with hundreds of pollers the load generator's own loop
            # may take seconds to come back to a 50 ms sleep (that is not a failure).
            await _wait(asyncio.sleep(0.05), pollers, DRAIN_S)
            if len(arrived) != last:
                last, last_change = len(arrived), time.perf_counter()
        cpu.stop()
        own.stop()
    finally:
        for p in pollers:
            p.cancel()
        for p in pollers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await p
        await http.aclose()
    return {
        "delivered_pct": 100.0 * len(arrived) / max(expected, 1),
        "wake_p50_ms": percentile(arrived, 50), "wake_p99_ms": percentile(arrived, 99),
        "cpu_pct": 100.0 * cpu.cpu / max(cpu.wall, 1e-9),
        # The load generator's own CPU: near 100 % it, not the server, bounds the figures.
        "client_cpu_pct": 100.0 * own.cpu / max(own.wall, 1e-9),
        "expected": expected, "delivered": len(arrived), "duplicates": duplicates,
        "messages": total, "seconds": cpu.wall, "clients": len(clients),
        "rooms": len(rooms),
    }


async def _wait(what: Awaitable[object], pollers: list[asyncio.Task[None]], timeout: float) -> None:
    """Await ``what``, but fail at once with a poller's error if one fails first."""
    waiter = asyncio.ensure_future(what)
    done, _ = await asyncio.wait([waiter, *pollers], timeout=timeout,
                                 return_when=asyncio.FIRST_COMPLETED)
    for p in pollers:
        if p in done:
            waiter.cancel()
            p.result()  # raises the poller's error
            raise RuntimeError("a /sync client stopped")
    if waiter not in done:
        waiter.cancel()
        raise TimeoutError(f"not done within {timeout:.0f} s")


SCENARIO = Scenario(
    name="many_clients",
    title="Many clients long-polling /sync",
    metrics=[
        Metric("delivered_pct", "delivered", "%", "higher"),
        Metric("wake_p50_ms", "wake p50", "ms", "lower"),
        Metric("wake_p99_ms", "wake p99", "ms", "lower"),
        Metric("cpu_pct", "server CPU", "%", "lower"),
    ],
    requires=[
        ("GET", "/_matrix/client/v3/sync"),
        ("POST", "/_synapse/admin/v1/join/!probe:localhost"),
        ("PUT", "/_matrix/client/v3/rooms/!probe:localhost/send/m.room.message/probe"),
    ],
    run=run,
)
