"""Stream order with two Glia processes on one PostgreSQL database
(``database.several_processes``): sends into different rooms through different processes
do not wait for each other, yet a client syncing through either process sees every event
exactly once, each in the sync window its stream position falls in, in the same order on
both processes — also when a process is killed mid-write."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest

from tests.kit import Kit, User, create_room, send_event, wait_until
from tests.server import GliaProcess

T = TypeVar("T")

#: A bound for what must not wait at all: reaching it is the failure.
BOUND = 20
FILTER = json.dumps({"room": {"timeline": {"limit": 1000}}})


class Database:
    """The test's own connection to the servers' database (an event loop on a thread):
    to look up stream positions and to hold a row lock that stops a writer mid-way."""

    def __init__(self, url: str) -> None:
        import asyncpg

        self._url = url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._conn = self.run(asyncpg.connect(url))
        self._holder: Any = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(BOUND)

    def positions(self) -> dict[str, int]:
        rows = self.run(self._conn.fetch("SELECT event_id, stream_ordering FROM events"))
        return {r["event_id"]: int(r["stream_ordering"]) for r in rows}

    def messages(self, room_id: str) -> int:
        return int(self.run(self._conn.fetchval(
            "SELECT count(*) FROM events WHERE room_id = $1 AND type = 'm.room.message'",
            room_id)))

    def hold_room(self, room_id: str) -> None:
        """Lock the room's forward-extremity rows: the next event written into the room
        takes its stream position, then waits here until :meth:`release`."""
        import asyncpg

        async def hold() -> Any:
            conn = await asyncpg.connect(self._url)
            tx = conn.transaction()
            await tx.start()
            await conn.execute(
                "SELECT 1 FROM forward_extremities WHERE room_id = $1 FOR UPDATE", room_id)
            return conn, tx

        self._holder = self.run(hold())

    def writer_waits(self) -> bool:
        """Whether a server's write waits for the held rows."""
        return bool(self.run(self._conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM forward_extremities%'")))

    def release(self) -> None:
        if self._holder is None:
            return
        conn, tx = self._holder

        async def release() -> None:
            await tx.rollback()
            await conn.close()

        self.run(release())
        self._holder = None

    def close(self) -> None:
        self.release()
        self.run(self._conn.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()


@dataclass
class Reader:
    """A client syncing incrementally through one process; every response's window
    (since, next_batch] and the message events it brought, per room."""

    kit: Kit
    user: User
    since: int = 0
    windows: list[tuple[int, int, list[str]]] = field(default_factory=list)
    by_room: dict[str, list[str]] = field(default_factory=dict)

    def start(self) -> None:
        self.since = self._token(self._sync({"timeout": "0"})["next_batch"])

    def sync(self, timeout_ms: int = 0) -> list[str]:
        body = self._sync({"since": f"s{self.since}", "timeout": str(timeout_ms),
                           "filter": FILTER})
        upto = self._token(body["next_batch"])
        assert upto >= self.since, (self.since, upto)
        new = []
        for room_id, room in body.get("rooms", {}).get("join", {}).items():
            timeline = room.get("timeline", {})
            assert not timeline.get("limited"), room_id
            ids = [e["event_id"] for e in timeline.get("events", [])
                   if e["type"] == "m.room.message"]
            self.by_room.setdefault(room_id, []).extend(ids)
            new += ids
        self.windows.append((self.since, upto, new))
        self.since = upto
        return new

    def seen(self) -> list[str]:
        return [e for _, _, events in self.windows for e in events]

    def _sync(self, params: dict[str, str]) -> dict[str, Any]:
        r = self.kit.request("GET", "/_matrix/client/v3/sync", self.user.access_token,
                             params=params)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    @staticmethod
    def _token(token: str) -> int:
        assert token.startswith("s"), token
        return int(token[1:].split("_")[0])


def check_order(reader: Reader, positions: dict[str, int]) -> None:
    """Every event exactly once, each in the window its stream position falls in (so
    none ever appeared below a token already handed out), rooms in stream order."""
    seen = reader.seen()
    assert len(seen) == len(set(seen)), "an event came twice"
    for since, upto, events in reader.windows:
        for event_id in events:
            assert since < positions[event_id] <= upto, (event_id, since, upto)
    for room_id, events in reader.by_room.items():
        assert [positions[e] for e in events] == sorted(positions[e] for e in events), room_id


Cluster = tuple[list[GliaProcess], list[Kit], Database]


@pytest.fixture(scope="module")
def cluster(db_kind: str, new_database_url: Callable[[], str]) -> Iterator[Cluster]:
    """Two processes the tests share (each makes rooms and users of its own)."""
    yield from _two_processes(db_kind, new_database_url)


@pytest.fixture
def doomed_cluster(db_kind: str, new_database_url: Callable[[], str]) -> Iterator[Cluster]:
    """Two processes for a test that kills one."""
    yield from _two_processes(db_kind, new_database_url)


def _two_processes(db_kind: str, new_database_url: Callable[[], str]) -> Iterator[Cluster]:
    if db_kind != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    url = new_database_url()
    several = {"GLIA_DATABASE__SEVERAL_PROCESSES": "true"}
    servers = [GliaProcess(url, several).start(), GliaProcess(url, several).start()]
    kits = [Kit(s.url) for s in servers]
    database = Database(url)
    try:
        yield servers, kits, database
    finally:
        database.close()
        for kit in kits:
            kit.close()
        for server in servers:
            server.stop()
            assert "Traceback" not in server.log(), server.log()[-3000:]


def _rooms_and_readers(kits: list[Kit], alice: User, n_rooms: int
                       ) -> tuple[list[str], list[Reader]]:
    rooms = [create_room(kits[0], alice, preset="public_chat") for _ in range(n_rooms)]
    readers = []
    for kit in kits:
        user = kit.register_user()
        for room in rooms:
            r = kit.request("POST", f"/_matrix/client/v3/join/{room}", user.access_token,
                            json={})
            assert r.status_code == 200, r.text
        reader = Reader(kit, user)
        reader.start()
        readers.append(reader)
    return rooms, readers


def catch_up(reader: Reader, done: Callable[[], bool]) -> None:
    """Sync until ``done()``."""
    def caught_up() -> bool:
        reader.sync()
        return done()

    wait_until(caught_up, BOUND, what="the reader to catch up")


def _in_thread(fn: Callable[[], T]) -> tuple[threading.Thread, list[T]]:
    out: list[T] = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    return thread, out


def test_sends_into_different_rooms_do_not_wait_across_processes(cluster: Cluster) -> None:
    _, kits, database = cluster
    alice = kits[0].register_user()
    (room_a, room_b), readers = _rooms_and_readers(kits, alice, 2)
    database.hold_room(room_a)
    try:
        first, first_id = _in_thread(lambda: send_event(kits[0], alice, room_a))
        wait_until(database.writer_waits, BOUND, what="the first send to hold its position")
        # The other process writes into another room meanwhile (before, every stream
        # write waited for one lock held by the first writer until its commit).
        second, second_id = _in_thread(lambda: send_event(kits[1], alice, room_b))
        second.join(BOUND)
        assert not second.is_alive(), "a send into another room waited for the held one"
        # Neither process shows the second event yet: the first, still being written,
        # has the lower stream position, and a token past the second would skip it.
        for reader in readers:
            assert reader.sync() == []
    finally:
        database.release()  # also when failing, so the module's other tests can write
    first.join(BOUND)
    assert first_id and second_id
    for reader in readers:
        catch_up(reader, lambda r=reader: len(r.seen()) >= 2)
        assert sorted(reader.seen()) == sorted([first_id[0], second_id[0]])
        positions = database.positions()
        assert positions[first_id[0]] < positions[second_id[0]]
        check_order(reader, positions)


def test_every_event_once_and_in_order_on_both_processes(cluster: Cluster) -> None:
    """Concurrent sends through both processes into rooms of their own and one shared
    room, while a reader on each process syncs incrementally."""
    _, kits, database = cluster
    alice = kits[0].register_user()
    rooms, readers = _rooms_and_readers(kits, alice, 3)
    shared = rooms[2]
    sent: list[str] = []
    writing = True

    def send_many(kit: Kit, room: str) -> None:
        for i in range(25):
            sent.append(send_event(kit, alice, room, {"msgtype": "m.text", "body": str(i)}))

    writers = [threading.Thread(target=send_many, args=(kits[i % 2], room))
               for i, room in enumerate([rooms[0], rooms[1], shared, shared])]

    def read(reader: Reader) -> None:
        while writing:
            reader.sync(timeout_ms=1000)

    syncing = [threading.Thread(target=read, args=(r,)) for r in readers]
    for thread in writers + syncing:
        thread.start()
    for thread in writers:
        thread.join()
    writing = False
    for thread in syncing:
        thread.join()
    positions = database.positions()
    for reader in readers:
        catch_up(reader, lambda r=reader: len(r.seen()) >= len(sent))
        assert sorted(reader.seen()) == sorted(sent)
        check_order(reader, positions)
    assert readers[0].by_room == readers[1].by_room


def test_a_killed_process_does_not_stall_the_other(doomed_cluster: Cluster) -> None:
    """The first process dies (SIGKILL) mid-load, one of its writes holding a stream
    position: the second keeps writing, and its readers get every event it wrote once
    the dead process's transaction is gone (PostgreSQL rolls it back and drops its
    mark when the session ends: here, when its statement no longer waits)."""
    servers, kits, database = doomed_cluster
    alice = kits[0].register_user()
    (held, busy, other), readers = _rooms_and_readers(kits, alice, 3)
    acknowledged: list[str] = []

    def load() -> None:
        # Sends through the first process until it dies.
        for i in range(10_000):
            try:
                acknowledged.append(send_event(kits[0], alice, busy,
                                               {"msgtype": "m.text", "body": str(i)}))
            except Exception:
                return

    loader = threading.Thread(target=load)
    loader.start()
    wait_until(lambda: len(acknowledged) >= 5, BOUND)
    database.hold_room(held)
    def doomed_send() -> None:
        with contextlib.suppress(httpx.HTTPError):  # its server is killed meanwhile
            send_event(kits[0], alice, held)

    doomed = threading.Thread(target=doomed_send)
    doomed.start()
    wait_until(database.writer_waits, BOUND, what="the doomed send to hold its position")
    servers[0].kill9()
    loader.join()
    doomed.join()
    after = [send_event(kits[1], alice, other) for _ in range(3)]  # none waits
    database.release()
    survivor = readers[1]
    catch_up(survivor, lambda: set(after) <= set(survivor.seen()))
    assert set(acknowledged) <= set(survivor.seen())
    # The killed process's held write was rolled back; it never shows.
    assert database.messages(held) == 0 and held not in survivor.by_room
    check_order(survivor, database.positions())
