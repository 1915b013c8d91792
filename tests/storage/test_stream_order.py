"""Stream order across processes (``database.several_processes``): two ``Storage``
objects with pools of their own stand for two Glia processes on one database. Writers
never wait for each other's stream positions, and ``stream_upto`` never passes a
position another process is still writing, nor stays behind one whose writer died."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
import pytest_asyncio

from glia.config import Config
from glia.storage import Storage, Stores, open_storage

#: A bound for what must not block at all: reaching it is the failure.
BOUND = 20


@pytest.fixture
def several_url(db_kind: str, database_url: str) -> str:
    if db_kind != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    return database_url


def _several(url: str) -> Config:
    database = dataclasses.replace(Config().database, url=url, several_processes=True)
    return Config(database=database)


_held: list[Held] = []


@pytest_asyncio.fixture
async def pair(several_url: str) -> AsyncIterator[tuple[Storage, Storage]]:
    first = await open_storage(_several(several_url))
    second = await open_storage(_several(several_url), run_migrations=False)
    try:
        yield first, second
    finally:
        # A failed test may leave a transaction open, which closing would wait for.
        for held in _held:
            held.end.set()
        await asyncio.gather(*(h.task for h in _held), return_exceptions=True)
        _held.clear()
        await first.close()
        await second.close()


class Held:
    """A transaction that takes a stream position and stays open until told to end."""

    def __init__(self, storage: Storage,
                 inside: Callable[[Stores], Awaitable[None]] | None = None) -> None:
        self._storage = storage
        self._inside = inside
        self.position: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.backend: int | None = None
        self.end = asyncio.Event()
        self.task = asyncio.create_task(self._run())
        _held.append(self)

    async def _run(self) -> None:
        async with self._storage.transaction() as tx:
            self.backend = int(await tx.db.fetchval("SELECT pg_backend_pid()"))
            position = await tx.next_stream_position()
            if self._inside is not None:
                await self._inside(tx)
            self.position.set_result(position)
            await self.end.wait()

    async def started(self) -> int:
        return await asyncio.wait_for(asyncio.shield(self.position), BOUND)


async def _take_and_commit(storage: Storage) -> int:
    async with storage.transaction() as tx:
        return await tx.next_stream_position()


async def test_writers_in_two_processes_do_not_wait_for_each_other(
        pair: tuple[Storage, Storage]) -> None:
    first, second = pair
    held = Held(first)
    early = await held.started()
    # The other process writes and commits while the first one's position is in flight
    # (before, a writer held one lock across all processes from position to commit).
    late = await asyncio.wait_for(_take_and_commit(second), BOUND)
    assert late > early
    # No reader, in either process, passes the position still being written.
    assert await second.stream_upto() == early - 1
    assert await first.stream_upto() == early - 1
    held.end.set()
    await held.task
    assert await second.stream_upto() == late
    assert await first.stream_upto() == late


async def test_several_positions_of_one_transaction(pair: tuple[Storage, Storage]) -> None:
    first, second = pair

    async def more(tx: Stores) -> None:
        await tx.next_stream_position()
        await tx.next_stream_position()

    held = Held(first, more)
    early = await held.started()
    late = await asyncio.wait_for(_take_and_commit(second), BOUND)
    assert await second.stream_upto() == early - 1
    held.end.set()
    await held.task
    assert await second.stream_upto() == late == early + 3


async def test_a_rolled_back_writer_leaves_no_mark(pair: tuple[Storage, Storage]) -> None:
    first, second = pair

    async def fail(tx: Stores) -> None:
        raise RuntimeError("rolled back")

    held = Held(first, fail)
    with pytest.raises(RuntimeError):
        await held.task
    late = await _take_and_commit(second)
    assert await second.stream_upto() == late


async def test_a_dead_writer_does_not_hold_readers_back(
        pair: tuple[Storage, Storage], several_url: str) -> None:
    """A process that dies mid-transaction: PostgreSQL ends its session, and with it
    its mark (here the session is ended from outside, as when the client is gone)."""
    first, second = pair
    held = Held(first)
    early = await held.started()
    late = await asyncio.wait_for(_take_and_commit(second), BOUND)
    assert await second.stream_upto() == early - 1
    admin = await asyncpg.connect(several_url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", held.backend)
    finally:
        await admin.close()

    async def released() -> int:
        while (upto := await second.stream_upto()) < late:
            await asyncio.sleep(0.05)
        return upto

    assert await asyncio.wait_for(released(), BOUND) == late
    held.end.set()
    with pytest.raises(Exception):  # noqa: B017 - the connection is gone (asyncpg's errors)
        await held.task


async def test_no_position_commits_below_what_a_reader_promised(
        pair: tuple[Storage, Storage]) -> None:
    """Writers in both processes, some rolling back, while readers in both keep asking
    how far they may read: whatever was promised was complete when promised (every
    position at or below it that ever commits had committed already)."""
    await pair[0].engine.execute("CREATE TABLE probe (position BIGINT PRIMARY KEY)")
    rng = random.Random(18)
    promises: list[tuple[int, set[int]]] = []
    writing = True

    async def write(storage: Storage, n: int) -> None:
        for i in range(n):
            try:
                async with storage.transaction() as tx:
                    position = await tx.next_stream_position()
                    for _ in range(rng.randrange(3)):
                        await asyncio.sleep(0)
                    await tx.db.execute("INSERT INTO probe (position) VALUES (?)", position)
                    if i % 7 == 3:
                        raise LookupError("rolled back")
            except LookupError:
                pass

    async def read(storage: Storage) -> None:
        while writing:
            upto = await storage.stream_upto()
            rows = await storage.engine.fetchall(
                "SELECT position FROM probe WHERE position <= ?", upto)
            promises.append((upto, {int(r["position"]) for r in rows}))

    readers = [asyncio.create_task(read(s)) for s in pair]
    await asyncio.gather(*(write(s, 40) for s in pair for _ in range(4)))
    writing = False
    await asyncio.gather(*readers)
    final = {int(r["position"]) for r in
             await pair[0].engine.fetchall("SELECT position FROM probe")}
    assert len(final) == 2 * 4 * 40 - 2 * 4 * 6
    assert len(promises) > 10
    for upto, seen in promises:
        assert seen == {p for p in final if p <= upto}, upto
