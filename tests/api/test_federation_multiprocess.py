"""One sender per destination across processes: two Glia processes on one PostgreSQL
database (one server, sharing its signing key) both send to a peer, and the peer
receives each event exactly once (counted in the answers it stored per transaction);
a lease a dead process left behind holds the destination until it expires, then the
other process takes over."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.api.federation_rooms_kit import bodies, join, membership, wait_federating
from tests.federation import FederatingServer, LoopbackCA, pair_names, start_federating
from tests.kit import Kit, User, create_room, send_event, unique, wait_until
from tests.server import GliaProcess

LEASE_MINUTES = 10


def _query(url: str, sql: str, *args: Any) -> list[Any]:
    import asyncpg

    async def run() -> list[Any]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


@dataclass
class Cluster:
    a1: FederatingServer
    a2: GliaProcess
    b: FederatingServer
    url_a: str
    url_b: str
    kits: list[Kit]
    kit_b: Kit
    alice: User
    bob: User


@pytest.fixture(scope="module")
def cluster(db_kind: str, new_database_url: Callable[[], str]) -> Iterator[Cluster]:
    if db_kind != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    ca = LoopbackCA()
    names, ports = pair_names()
    url_a, url_b = new_database_url(), new_database_url()
    key = Path(tempfile.mkdtemp(prefix="glia-key-")) / "signing.key"
    started: list[GliaProcess] = []

    def starter(url: str) -> Callable[..., GliaProcess]:
        def start(env: dict[str, str], server_name: str) -> GliaProcess:
            process = GliaProcess(url, env, server_name=server_name)
            started.append(process)
            return process.start()
        return start

    shared = {"GLIA_DATABASE__SEVERAL_PROCESSES": "true",
              "GLIA_SIGNING_KEY_PATH": str(key)}
    try:
        a1 = start_federating(starter(url_a), ca, names, ports, 0, shared)
        # The second process of the same server: same database and key, no listener of
        # its own for federation (the first answers other servers), its own sender.
        a2 = start_federating(starter(url_a), ca, names, ports, 0, {
            **shared, "GLIA_FEDERATION__LISTENER__ENABLED": "false"}).process
        b = start_federating(starter(url_b), ca, names, ports, 1)
        wait_federating(a1)
        wait_federating(b)
        kits = [Kit(a1.process.url), Kit(a2.url)]
        kit_b = Kit(b.process.url)
        yield Cluster(a1, a2, b, url_a, url_b, kits, kit_b, kits[0].register_user(),
                      kit_b.register_user())
        for kit in (*kits, kit_b):
            kit.close()
    finally:
        for process in started:
            process.stop()
    for process in started:
        assert "Traceback" not in process.log(), process.log()[-5000:]


def _received(c: Cluster) -> Counter[str]:
    """How often the peer received each event from A (one count per transaction)."""
    rows = _query(c.url_b, "SELECT response FROM federation_inbound_txns WHERE origin = $1",
                  c.a1.name)
    return Counter(event_id for r in rows for event_id in json.loads(r["response"])["pdus"])


def _shared_room(c: Cluster) -> str:
    room_id = create_room(c.kits[0], c.alice, preset="public_chat")
    assert join(c.kit_b, c.bob, room_id, via=[c.a1.name]).status_code == 200
    wait_until(lambda: membership(c.kits[0], c.alice, room_id, c.bob.user_id) == "join",
               what="bob's join on A")
    return room_id


def test_each_event_reaches_the_peer_once(cluster: Cluster) -> None:
    c = cluster
    room_id = _shared_room(c)
    texts = [f"m{i}" for i in range(24)]

    def send(i: int) -> str:
        return send_event(c.kits[i % 2], c.alice, room_id,
                          {"msgtype": "m.text", "body": texts[i]})

    with ThreadPoolExecutor(4) as pool:
        event_ids = list(pool.map(send, range(len(texts))))
    wait_until(lambda: set(texts) <= set(bodies(c.kit_b, c.bob, room_id)),
               what="every message on B")
    received = _received(c)
    assert all(received[e] == 1 for e in event_ids), [received[e] for e in event_ids]
    assert not [e for e, n in received.items() if n > 1]


def test_a_dead_holders_lease_expires_and_another_process_takes_over(
        cluster: Cluster) -> None:
    c = cluster
    room_id = _shared_room(c)
    now = c.kits[0].server_now()
    _query(c.url_a, "INSERT INTO federation_sender_leases (destination, holder, expires_ts)"
           " VALUES ($1, 'a process that died', $2) ON CONFLICT (destination) DO UPDATE"
           " SET holder = excluded.holder, expires_ts = excluded.expires_ts",
           c.b.name, now + LEASE_MINUTES * 60_000)
    text = unique("after the takeover")
    event_id = send_event(c.kits[1], c.alice, room_id, {"msgtype": "m.text", "body": text})
    # The lease holds the destination: the event waits in the queue.
    assert _query(c.url_a, "SELECT 1 FROM federation_queue WHERE destination = $1"
                  " AND event_id = $2", c.b.name, event_id)
    for kit in c.kits:
        kit.advance_clock((LEASE_MINUTES + 1) * 60_000)
    wait_until(lambda: text in bodies(c.kit_b, c.bob, room_id), what="the message on B")
    assert _received(c)[event_id] == 1
    holders = _query(c.url_a, "SELECT holder FROM federation_sender_leases"
                     " WHERE destination = $1", c.b.name)
    assert all(r["holder"] != "a process that died" for r in holders)
