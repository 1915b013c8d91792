"""Stream positions and other counters.

One ordered counter per stream (``stream`` orders everything ``/sync`` reads). SQLite
bumps a row in ``counters`` (writes are serialized anyway); PostgreSQL uses a sequence
per counter so concurrent writers never queue on one row. New counters are declared by
inserting a row into ``counters`` in a migration; the runner creates the sequence.

A position is taken when a transaction asks for it but becomes visible only when that
transaction commits, so positions commit out of order. Readers must not promise
"everything up to N" while a position at or below N is still being written. Within one
process ``storage.InFlight`` knows which are; across processes (PostgreSQL,
``database.several_processes``) a writer *marks* a lower bound of its first position
before taking it (:data:`STREAM_MARK`, see ``Dialect.mark_in_flight``), the mark lasting
exactly as long as its transaction, and a reader caps the current position below the
lowest mark. Writers never wait for each other (only for their room's lock).
"""

from __future__ import annotations

from glia.storage.engine import Engine, Executor

STREAM = "stream"

#: Tells the stream's in-flight marks apart from other locks (``Dialect.mark_in_flight``).
STREAM_MARK = 0x6C1A


async def next_position(engine: Engine, executor: Executor, counter: str = STREAM) -> int:
    return await engine.next_value(executor, counter)


async def current_position(engine: Engine, counter: str = STREAM,
                           executor: Executor | None = None) -> int:
    """The highest position handed out so far (0 before any)."""
    return await engine.current_value(executor or engine, counter)


async def committed_upto(engine: Engine, counter: str = STREAM) -> int:
    """A position at or below which every transaction of any process has committed or
    rolled back: the current position, capped below the lowest in-flight mark.

    The current position is read first: a writer marks before it takes a position, so a
    position at or below the one read here is either committed or still marked when the
    marks are read next (and a mark ends only once its transaction is visible)."""
    current = await current_position(engine, counter)
    lowest = await engine.dialect.lowest_in_flight(engine, counter, STREAM_MARK)
    return current if lowest is None else min(current, lowest - 1)
