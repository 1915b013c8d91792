"""PostgreSQL engine on an asyncpg pool; the same SQL text, placeholders rewritten."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import asyncpg

from glia.storage.engine import (
    Dialect,
    Executor,
    Row,
    reject_nul,
    to_numbered_placeholders,
)

if TYPE_CHECKING:
    from glia.storage.search import Phrase, SearchQuery

# Any 64-bit number, so two Glia processes never migrate the same database at once.
_MIGRATION_LOCK_KEY = 0x6C1A_0001


def _rowcount(status: str) -> int:
    """asyncpg returns a command tag such as ``UPDATE 3``; the last word is the count."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _tsquery_phrase(phrase: Phrase) -> str:
    parts = [f"'{t}'" for t in phrase.terms]
    if phrase.prefix:
        parts[-1] += ":*"
    return parts[0] if len(parts) == 1 else "(" + " <-> ".join(parts) + ")"


def tsquery(query: SearchQuery) -> str:
    """A search query in ``to_tsquery`` syntax."""
    expression = " & ".join(
        "(" + " | ".join(_tsquery_phrase(p) for p in group) + ")" for group in query.required)
    for phrase in query.excluded:
        expression += f" & !{_tsquery_phrase(phrase)}"
    return expression


class PostgresDialect:
    """PostgreSQL's side of :class:`~glia.storage.engine.Dialect`: several processes may
    share the database, so writers take advisory locks (room locks, in-flight stream
    marks); full-text search through
    ``tsvector`` under a GIN index, with the ``simple`` configuration (no stemming and no
    stop words, because rooms are written in every language; every query term matches as
    a prefix instead)."""

    shared_by_processes = True
    skip_locked = " FOR UPDATE SKIP LOCKED"
    search_column = "vector"
    search_value = "to_tsvector('simple', ?)"
    search_room = "s.room_id"

    def one_of(self, expression: str, values: Sequence[str], *,
               negate: bool = False) -> tuple[str, list[Any]]:
        # One text[] parameter however long the list.
        if negate:
            return f"{expression} <> ALL(?::text[])", [list(values)]
        return f"{expression} = ANY(?::text[])", [list(values)]

    async def lock_name(self, executor: Executor, name: str) -> None:
        await executor.execute("SELECT pg_advisory_xact_lock(hashtext(?))", name)

    async def mark_in_flight(self, executor: Executor, sequence: str, tag: int) -> None:
        # A shared transaction-level advisory lock on (tag << 48) + the sequence's next
        # value: many writers may hold the same mark, it never makes anyone wait, and
        # PostgreSQL drops it when the transaction ends, however it ends.
        await executor.execute(
            "SELECT pg_advisory_xact_lock_shared((?::bigint << 48) + last_value"
            f" + CASE WHEN is_called THEN 1 ELSE 0 END) FROM {sequence}_seq", tag)

    async def lowest_in_flight(self, executor: Executor, sequence: str,
                               tag: int) -> int | None:
        # A one-number advisory lock shows in pg_locks as classid (high 32 bits) and
        # objid (low 32 bits) with objsubid 1; marks are this database's with the tag
        # in the top 16 bits (values stay below 2^48).
        lowest = await executor.fetchval(
            "SELECT min(((classid::bigint << 32) | objid::bigint) - (?::bigint << 48))"
            " FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1"
            " AND classid::bigint >> 16 = ?"
            " AND database = (SELECT oid FROM pg_database"
            " WHERE datname = current_database())", tag, tag)
        return None if lowest is None else int(lowest)

    def search_source(self, query: SearchQuery) -> tuple[str, str, str, list[Any]]:
        return ("event_search s CROSS JOIN to_tsquery('simple', ?) AS q",
                "s.vector @@ q", "ts_rank(s.vector, q)", [tsquery(query)])


class _ConnExecutor:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        status = await self._conn.execute(to_numbered_placeholders(sql), *reject_nul(args))
        return _rowcount(status)

    async def execute_bulk(self, sql: str, *args: Any) -> int:
        return await self.execute(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            reject_nul(row)
        await self._conn.executemany(to_numbered_placeholders(sql), rows)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        sql = to_numbered_placeholders(sql)
        row: Row | None = await self._conn.fetchrow(sql, *reject_nul(args))
        return row

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        sql = to_numbered_placeholders(sql)
        rows: list[Row] = await self._conn.fetch(sql, *reject_nul(args))
        return rows

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._conn.fetchval(to_numbered_placeholders(sql), *reject_nul(args))


class PostgresEngine:
    name = "postgres"
    dialect: Dialect = PostgresDialect()

    def __init__(self, pool: Any, dsn: str) -> None:
        self._pool = pool
        self._dsn = dsn

    @classmethod
    async def connect(cls, dsn: str, pool_size: int) -> PostgresEngine:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)
        return cls(pool, dsn)

    async def listen(self, channel: str, callback: Callable[[str], None]
                     ) -> Callable[[], Awaitable[None]]:
        """Call ``callback(payload)`` for every ``NOTIFY`` on ``channel`` (on a connection
        of its own, outside the pool); returns the function that stops listening."""
        conn = await asyncpg.connect(self._dsn)

        def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            callback(payload)

        await conn.add_listener(channel, on_notify)

        async def stop() -> None:
            await conn.close()

        return stop

    async def notify(self, channel: str, payload: str) -> None:
        await self.execute("SELECT pg_notify(?, ?)", channel, payload)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _ConnExecutor(conn)

    @asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[Executor]:
        async with self.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock(?)", _MIGRATION_LOCK_KEY)
            yield tx

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._pool.acquire() as conn:
            return await _ConnExecutor(conn).execute(sql, *args)

    async def execute_bulk(self, sql: str, *args: Any) -> int:
        return await self.execute(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        async with self._pool.acquire() as conn:
            return await _ConnExecutor(conn).fetchone(sql, *args)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        async with self._pool.acquire() as conn:
            return await _ConnExecutor(conn).fetchall(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self._pool.acquire() as conn:
            return await _ConnExecutor(conn).fetchval(sql, *args)

    async def next_value(self, executor: Executor, sequence: str) -> int:
        # Sequences never block concurrent writers, unlike a counter row.
        return int(await executor.fetchval(f"SELECT nextval('{sequence}_seq')"))

    async def current_value(self, executor: Executor, sequence: str) -> int:
        row = await executor.fetchone(f"SELECT last_value, is_called FROM {sequence}_seq")
        if row is None:
            return 0
        return int(row["last_value"]) if row["is_called"] else int(row["last_value"]) - 1

    async def sync_counters(self, executor: Executor) -> None:
        # Every row of ``counters`` is backed by a sequence ``<name>_seq``.
        for row in await executor.fetchall("SELECT name, value FROM counters"):
            start = int(row["value"]) + 1
            await executor.execute(
                f"CREATE SEQUENCE IF NOT EXISTS {row['name']}_seq START WITH {start}")

    async def run_script(self, executor: Executor, script: str) -> None:
        await executor.execute(script)

    async def close(self) -> None:
        await self._pool.close()
