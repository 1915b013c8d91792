"""13. Two processes on one PostgreSQL: sends into different rooms through one Glia
process, then the same work split over two — events/s, and the speed-up.

The scenario starts its own pair of processes (``database.several_processes: true``, a
fresh database in the run's cluster, the benchmark's other settings) so the server the
other scenarios measure keeps its single-process configuration. Each of R senders posts
into a room of its own, R at a time: first all through process A (B runs, idle), then
half of the senders through A and half through B. Synapse is not compared: its
several-process mode (workers and replication) is a different deployment.
"""

from __future__ import annotations

import asyncio
import time

from bench.client import Client, User
from bench.scale import Scale
from bench.scenarios.base import Metric, NotAvailable, Outcome, Scenario
from bench.servers import Server, serve_another_glia, start_glia
from bench.target import PASSWORD, Target, bounded, text

SEVERAL = {"GLIA_DATABASE__SEVERAL_PROCESSES": "true"}


async def run(t: Target, scale: Scale) -> Outcome:
    info = t.server.info
    if "glia_cmd" not in info:
        raise NotAvailable("the bench starts several processes of Glia only")
    if info.get("pg") is None:
        raise NotAvailable("several processes share a database only on PostgreSQL "
                           "(run with --postgres)")
    servers: list[Server] = []
    clients: list[Client] = []
    try:
        first = await asyncio.to_thread(
            start_glia, info["glia_cmd"], info["data"].parent / "glia-procs",
            bcrypt_rounds=info["bcrypt_rounds"], pg=info["pg"], database="glia_procs",
            extra_env=SEVERAL)
        servers.append(first)
        servers.append(await asyncio.to_thread(serve_another_glia, first, "glia-b"))
        clients = [Client(s.url) for s in servers]
        a = clients[0]
        users = await bounded(scale.procs_rooms, 4, lambda i: a.register(
            first.shared_secret, f"bench_procs{i:04d}", PASSWORD))
        senders = [u for u, _ in users]
        rooms = await bounded(len(senders), 4, lambda i: a.create_room(
            senders[i], preset="private_chat", name=f"bench procs {i}"))
        one = await _sends(t, [a] * len(senders), senders, rooms, scale.procs_messages)
        two = await _sends(t, [clients[i % 2] for i in range(len(senders))], senders, rooms,
                           scale.procs_messages)
    finally:
        for c in clients:
            await c.close()
        for s in reversed(servers):
            s.proc.stop()
    return Outcome({"one_eps": one, "two_eps": two, "speedup": two / one},
                   {"rooms": len(rooms), "messages_per_phase": scale.procs_messages})


async def _sends(t: Target, via: list[Client], senders: list[User], rooms: list[str],
                 total: int) -> float:
    """``total`` messages, sender i into room i through ``via[i]``, all at once: events/s."""
    share = [total // len(senders) + (1 if i < total % len(senders) else 0)
             for i in range(len(senders))]

    async def sender(i: int) -> None:
        for k in range(share[i]):
            await via[i].send_text(senders[i], rooms[i], text(t.rng, k))

    start = time.perf_counter()
    await bounded(len(senders), len(senders), sender)
    return total / (time.perf_counter() - start)


SCENARIO = Scenario(
    name="two_processes",
    title="Two processes on one PostgreSQL (sends into different rooms)",
    metrics=[
        Metric("one_eps", "one process", "events/s", "higher"),
        Metric("two_eps", "two processes", "events/s", "higher"),
        Metric("speedup", "two vs one", "×", "higher"),
    ],
    requires=[],
    run=run,
    note={"synapse": "Synapse's several-process mode (workers, replication) is a "
                     "different deployment; the bench does not start it"},
)
