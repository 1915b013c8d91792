"""The narrow async database interface both engines implement.

SQL is written once, with ``?`` placeholders; the PostgreSQL engine rewrites them to
``$1, $2 …``. Rows are mappings by column name. Writes happen in ``transaction()``; a
bare ``execute`` outside one is a single-statement transaction of its own.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

from glia import errors

if TYPE_CHECKING:
    from glia.storage.search import SearchQuery

Row = Mapping[str, Any]


def reject_nul(args: Sequence[Any]) -> Sequence[Any]:
    """Refuse text with NUL characters, which PostgreSQL cannot store, on both engines alike.

    Services validate their fields first; this is the net that keeps a stray ``\u0000``
    (in a path segment, a device ID, a display name …) a ``400`` instead of a ``500``.
    """
    for arg in args:
        if isinstance(arg, str) and "\x00" in arg:
            raise errors.invalid_param("Text may not contain NUL characters")
        if isinstance(arg, list):
            reject_nul(arg)
    return args


class Executor(Protocol):
    """What a store runs SQL through: the pool, or one transaction's connection."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; returns the number of rows it changed."""

    async def execute_bulk(self, sql: str, *args: Any) -> int:
        """:meth:`execute` for a statement that may touch many rows (purges): an engine
        that runs short statements on its event loop runs this one off it."""

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or None."""


class Dialect(Protocol):
    """The SQL that differs between the engines. Stores ask the engine's dialect for it,
    so each store keeps one SQL text and never tests which engine it runs on."""

    #: Several processes may serve this database at once, so locks and wake-ups must
    #: work between processes.
    shared_by_processes: bool
    #: Ends a ``SELECT … LIMIT 1`` subquery that picks a row to take, so a concurrent
    #: taker passes over a row another one holds instead of waiting for it.
    skip_locked: str
    #: The ``event_search`` column the search terms are indexed in, the SQL that turns a
    #: ``?`` of space-separated terms into its value, and the room column in search
    #: conditions.
    search_column: str
    search_value: str
    search_room: str

    def one_of(self, expression: str, values: Sequence[str], *,
               negate: bool = False) -> tuple[str, list[Any]]:
        """``expression [NOT] IN values`` for a list of text values of any length, as a
        condition and its arguments. The list travels as one parameter, so a filter
        listing tens of thousands of senders stays under the engines' bind-parameter
        limits (and is one statement text whatever its length)."""

    async def lock_name(self, executor: Executor, name: str) -> None:
        """Hold a lock on ``name`` until the transaction ends (nothing to do where write
        transactions are serialized anyway)."""

    async def mark_in_flight(self, executor: Executor, sequence: str, tag: int) -> None:
        """Show every process, until this transaction ends (commit, rollback, or its
        connection dying), that it is about to take a value of the counter ``sequence``:
        the mark is the counter's next value, a lower bound of what it will take.
        ``tag`` (16 bits) keeps one counter's marks apart from other locks. Nothing to
        do where write transactions are serialized anyway."""

    async def lowest_in_flight(self, executor: Executor, sequence: str,
                               tag: int) -> int | None:
        """The lowest mark :meth:`mark_in_flight` holds for ``tag`` in a transaction of
        any process that has not ended, or None."""

    def search_source(self, query: SearchQuery) -> tuple[str, str, str, list[Any]]:
        """Full-text search: the FROM clause (``event_search`` as ``s``), the match
        condition, the rank expression (higher is better) and the query's arguments."""


class Engine(Executor, Protocol):
    name: str
    dialect: Dialect

    def transaction(self) -> AbstractAsyncContextManager[Executor]: ...

    async def next_value(self, executor: Executor, sequence: str) -> int:
        """Next value of a named counter (streams, ids); see ``storage.streams``."""

    async def current_value(self, executor: Executor, sequence: str) -> int:
        """The highest value :meth:`next_value` handed out so far (0 before any)."""

    async def sync_counters(self, executor: Executor) -> None:
        """Back every row of ``counters`` with what :meth:`next_value` needs (after
        migrations, which may add counters)."""

    async def run_script(self, executor: Executor, script: str) -> None:
        """Run a multi-statement migration script inside the given transaction."""

    def migration_lock(self) -> AbstractAsyncContextManager[Executor]:
        """A transaction that also excludes other processes migrating at once."""

    async def close(self) -> None: ...


_PLACEHOLDER = re.compile(r"\?")


@functools.lru_cache(maxsize=4096)
def to_numbered_placeholders(sql: str) -> str:
    """``?`` → ``$n`` for PostgreSQL. Our SQL never has ``?`` inside string literals."""
    counter = itertools.count(1)
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def is_read_only(sql: str) -> bool:
    """Whether a statement only reads, so SQLite may run it on a reader connection."""
    head = sql.lstrip()[:6].upper()
    return head == "SELECT" or (head.startswith("WITH") and "RETURNING" not in sql.upper())
