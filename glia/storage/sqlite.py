"""SQLite engine: WAL, one writer connection, a few readers, each on its own thread.

SQLite allows one writer at a time, so writes are serialized by an asyncio lock in
process instead of by SQLITE_BUSY retries; reads run concurrently on reader
connections (WAL readers never block the writer).

Group commit: with ``synchronous=full`` every COMMIT waits for the disk, which would cap
writes at one transaction per fsync. So transactions that queue up behind each other
share one SQLite transaction: each runs in its own SAVEPOINT (a failing one rolls back
alone), and one COMMIT makes the whole group durable. No member returns before that
COMMIT, so nothing is acknowledged before it is on disk.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from glia.storage.engine import Dialect, Executor, Row, is_read_only, reject_nul

if TYPE_CHECKING:
    from glia.storage.search import Phrase, SearchQuery

T = TypeVar("T")


def _fts5_phrase(phrase: Phrase) -> str:
    # Terms hold only letters, digits and marks: nothing to escape inside the quotes.
    return f'"{" ".join(phrase.terms)}"' + ("*" if phrase.prefix else "")


def fts5_query(query: SearchQuery) -> str:
    """A search query in FTS5's query syntax."""
    expression = " AND ".join(
        "(" + " OR ".join(_fts5_phrase(p) for p in group) + ")" for group in query.required)
    if query.excluded:
        expression = (f"({expression}) NOT ("
                      + " OR ".join(_fts5_phrase(p) for p in query.excluded) + ")")
    return expression


class SqliteDialect:
    """SQLite's side of :class:`~glia.storage.engine.Dialect`: one process, one writer at
    a time, so there is nothing to lock; full-text search through FTS5."""

    shared_by_processes = False
    skip_locked = ""
    #: The external-content FTS5 table ``event_search_fts`` indexes this column (triggers
    #: keep it in step).
    search_column = "terms"
    search_value = "?"
    #: ``+`` keeps the planner from probing the room index once per listed room for
    #: every match (the primary key already found the row).
    search_room = "+s.room_id"

    def one_of(self, expression: str, values: Sequence[str], *,
               negate: bool = False) -> tuple[str, list[Any]]:
        # A JSON array read back by json_each(): one parameter however long the list
        # (checked for NUL here, where the JSON text would hide it).
        return (f"{expression} {'NOT IN' if negate else 'IN'}"
                " (SELECT value FROM json_each(?))", [json.dumps(list(reject_nul(values)))])

    async def lock_name(self, executor: Executor, name: str) -> None:
        return None

    async def mark_in_flight(self, executor: Executor, sequence: str, tag: int) -> None:
        return None

    async def lowest_in_flight(self, executor: Executor, sequence: str,
                               tag: int) -> int | None:
        return None

    def search_source(self, query: SearchQuery) -> tuple[str, str, str, list[Any]]:
        # FTS5 first, so its rows drive the join and bm25() has a full-text cursor.
        return ("event_search_fts CROSS JOIN event_search s"
                " ON s.stream_ordering = event_search_fts.rowid",
                "event_search_fts MATCH ?", "-bm25(event_search_fts)", [fts5_query(query)])


class _Connection:
    """One sqlite3 connection confined to one thread."""

    def __init__(self, path: str, synchronous: str, read_only: bool) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._conn: sqlite3.Connection | None = None
        self._init = self._pool.submit(self._open, path, synchronous, read_only)

    def _open(self, path: str, synchronous: str, read_only: bool) -> None:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
        if read_only:
            conn.execute("PRAGMA query_only=ON")
        self._conn = conn

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self._init.result()
        conn = self._conn
        assert conn is not None
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, conn)

    def run_inline(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run on the calling (event loop) thread: for the writer inside a transaction,
        where the write lock already serialises every use of the connection and a
        statement costs less than handing it to a thread and back."""
        self._init.result()
        assert self._conn is not None
        return fn(self._conn)

    def close(self) -> None:
        def _close() -> None:
            if self._conn is not None:
                self._conn.close()

        self._pool.submit(_close).result()
        self._pool.shutdown(wait=True)


def _execute(sql: str, args: Sequence[Any]) -> Callable[[sqlite3.Connection], int]:
    reject_nul(args)
    return lambda c: c.execute(sql, args).rowcount


def _fetchall(sql: str, args: Sequence[Any]) -> Callable[[sqlite3.Connection], list[Row]]:
    reject_nul(args)
    return lambda c: c.execute(sql, args).fetchall()


def _fetchval(sql: str, args: Sequence[Any]) -> Callable[[sqlite3.Connection], Any]:
    reject_nul(args)

    def run(c: sqlite3.Connection) -> Any:
        rows = c.execute(sql, args).fetchall()
        return rows[0][0] if rows else None

    return run


def _fetchone(sql: str, args: Sequence[Any]) -> Callable[[sqlite3.Connection], Row | None]:
    reject_nul(args)

    def run(c: sqlite3.Connection) -> Row | None:
        cur = c.execute(sql, args)
        row = cur.fetchone()
        # Drain so RETURNING statements finish (SQLite runs them to completion on step).
        cur.fetchall()
        return row  # type: ignore[no-any-return]

    return run


#: ``executemany`` with more rows than this runs on the writer thread, not inline.
INLINE_ROWS = 100


#: An inline transaction that has kept the event loop this long (seconds) lets it run
#: other work before its next statement, or its next rows.
YIELD_AFTER = 0.005

#: Rows an inline ``fetchall`` steps through between two chances to yield.
FETCH_CHUNK = 256


class _TxExecutor:
    """Runs statements on the writer connection inside an open transaction: inline on the
    event loop (the write lock is held, and a typical statement costs less than a thread
    handoff), except bulk work that may take long — :meth:`execute_bulk` and large
    ``executemany`` batches — which goes to the writer's thread.

    An inline statement never suspends, so a long transaction (a room created with a
    thousand invites) would hold the event loop from start to end and stall every other
    request; once it has held the loop for :data:`YIELD_AFTER`, the next statement first
    lets the loop run (the write lock still keeps other writers out)."""

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self._since_yield = time.perf_counter()

    async def _fair(self) -> None:
        if time.perf_counter() - self._since_yield > YIELD_AFTER:
            await asyncio.sleep(0)
            self._since_yield = time.perf_counter()

    async def execute(self, sql: str, *args: Any) -> int:
        await self._fair()
        return self._conn.run_inline(_execute(sql, args))

    async def execute_bulk(self, sql: str, *args: Any) -> int:
        return await self._conn.run(_execute(sql, args))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            reject_nul(row)
        if len(rows) <= INLINE_ROWS:
            await self._fair()
            self._conn.run_inline(lambda c: c.executemany(sql, rows))
        else:
            await self._conn.run(lambda c: c.executemany(sql, rows))

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        await self._fair()
        return self._conn.run_inline(_fetchone(sql, args))

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        """Rows read :data:`FETCH_CHUNK` at a time, letting the loop run in between once
        it was held :data:`YIELD_AFTER`: a statement over thousands of rows (a big
        room's members) is stepped through in parts instead of in one go."""
        await self._fair()
        reject_nul(args)
        cursor = self._conn.run_inline(lambda c: c.execute(sql, args))
        rows: list[Row] = cursor.fetchmany(FETCH_CHUNK)
        if len(rows) < FETCH_CHUNK:
            return rows
        while True:
            await self._fair()
            chunk = cursor.fetchmany(FETCH_CHUNK)
            rows += chunk
            if len(chunk) < FETCH_CHUNK:
                return rows

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self._fair()
        return self._conn.run_inline(_fetchval(sql, args))


#: At most this many transactions share one COMMIT (bounds a member's wait).
MAX_GROUP = 200


class _Group:
    """Transactions sharing one SQLite transaction, and the future of its COMMIT."""

    def __init__(self) -> None:
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.members = 0


class SqliteEngine:
    name = "sqlite"
    dialect: Dialect = SqliteDialect()

    def __init__(self, path: Path, synchronous: str = "full", readers: int = 2) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _Connection(str(path), synchronous, read_only=False)
        # The writer must create the file and switch it to WAL before readers attach.
        self._writer._init.result()
        self._readers = [_Connection(str(path), synchronous, True) for _ in range(readers)]
        self._next_reader = 0
        self._write_lock = asyncio.Lock()
        self._group: _Group | None = None
        self._flush: asyncio.Task[None] | None = None

    def _reader(self) -> _Connection:
        self._next_reader = (self._next_reader + 1) % len(self._readers)
        return self._readers[self._next_reader]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._write_lock:
            group = self._group
            if group is None:
                # May wait (busy_timeout) for another process: on the thread.
                await self._writer.run(lambda c: c.execute("BEGIN IMMEDIATE"))
                group = self._group = _Group()
            group.members += 1
            self._writer.run_inline(lambda c: c.execute("SAVEPOINT tx"))
            try:
                yield _TxExecutor(self._writer)
            except BaseException:
                self._writer.run_inline(_rollback_savepoint)
                await self._after_member(group)
                raise
            self._writer.run_inline(lambda c: c.execute("RELEASE tx"))
            await self._after_member(group)
        await asyncio.shield(group.committed)

    async def _after_member(self, group: _Group) -> None:
        """(Lock held.) Commit at once when the group is full; otherwise soon, once the
        transactions already queued for the lock have joined the group (the lock is
        FIFO, so a flush queued now runs after them)."""
        if group.members >= MAX_GROUP:
            await self._commit()
        elif self._flush is None or self._flush.done():
            self._flush = asyncio.ensure_future(self._flush_group())

    async def _flush_group(self) -> None:
        async with self._write_lock:
            await self._commit()

    async def _commit(self) -> None:
        """(Lock held.) Make the current group durable and tell its members."""
        group, self._group = self._group, None
        if group is None:
            return
        try:
            await self._writer.run(lambda c: c.execute("COMMIT"))
        except BaseException as e:
            with suppress(sqlite3.Error):
                await self._writer.run(lambda c: c.execute("ROLLBACK"))
            group.committed.set_exception(e)
            # The members see the failure; nobody else needs to retrieve it.
            group.committed.exception()
            return
        group.committed.set_result(None)

    def migration_lock(self) -> Any:
        return self.transaction()

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        async with self.transaction():
            return await self._writer.run(fn)

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._write(_execute(sql, args))

    async def execute_bulk(self, sql: str, *args: Any) -> int:
        return await self._write(_execute(sql, args))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        if is_read_only(sql):
            return await self._reader().run(_fetchone(sql, args))
        return await self._write(_fetchone(sql, args))

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        if is_read_only(sql):
            return await self._reader().run(_fetchall(sql, args))
        return await self._write(_fetchall(sql, args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        if is_read_only(sql):
            return await self._reader().run(_fetchval(sql, args))
        return await self._write(_fetchval(sql, args))

    async def next_value(self, executor: Executor, sequence: str) -> int:
        value = await executor.fetchval(
            "UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value", sequence
        )
        if value is None:
            raise KeyError(f"unknown counter {sequence!r}")
        return int(value)

    async def current_value(self, executor: Executor, sequence: str) -> int:
        return int(await executor.fetchval(
            "SELECT value FROM counters WHERE name = ?", sequence) or 0)

    async def sync_counters(self, executor: Executor) -> None:
        return None  # next_value() bumps the counter rows themselves

    async def run_script(self, executor: Executor, script: str) -> None:
        # executescript() would COMMIT our transaction; run statement by statement.
        for statement in split_statements(script):
            await executor.execute(statement)

    async def close(self) -> None:
        if self._flush is not None:
            await self._flush  # the last group's COMMIT
        for conn in [self._writer, *self._readers]:
            conn.close()


def _rollback_savepoint(c: sqlite3.Connection) -> None:
    c.execute("ROLLBACK TO tx")
    c.execute("RELEASE tx")


def split_statements(script: str) -> list[str]:
    """Split a SQL script on ``;`` at statement ends (trigger bodies kept whole)."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        candidate = "\n".join(current).strip()
        if candidate.endswith(";") and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        statements.append(rest)
    return statements
