"""Stream positions and other counters.

One ordered counter per stream (``stream`` orders everything ``/sync`` reads). SQLite
bumps a row in ``counters`` (writes are serialized anyway); PostgreSQL uses a sequence
per counter so concurrent writers never queue on one row. New counters are declared by
inserting a row into ``counters`` in a migration; the runner creates the sequence.
"""

from __future__ import annotations

from glia.storage.engine import Engine, Executor

STREAM = "stream"


async def next_position(engine: Engine, executor: Executor, counter: str = STREAM) -> int:
    return await engine.next_value(executor, counter)


#: The two-key advisory lock that orders stream positions across processes (PostgreSQL,
#: ``database.several_processes``): writers hold it exclusively from taking a position to
#: their commit; readers take it shared to read a position nobody is still writing below.
STREAM_ORDER_LOCK = (0x6C1A, 2)


async def current_position(engine: Engine, counter: str = STREAM,
                           executor: Executor | None = None) -> int:
    """The highest position handed out so far (0 before any)."""
    return await engine.current_value(executor or engine, counter)
