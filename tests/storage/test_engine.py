"""The engines and the migration runner, on the engine under test."""

from __future__ import annotations

import asyncio

import pytest

from glia.errors import MatrixError
from glia.storage import Storage, open_engine, open_storage
from glia.storage.engine import Engine, to_numbered_placeholders
from glia.storage.migrate import SchemaTooNew, applied_versions, available_migrations, migrate
from glia.storage.streams import current_position
from tests.storage.conftest import config_for


async def test_engine_name(engine: Engine, db_kind: str) -> None:
    assert engine.name == db_kind


async def test_migrations_apply_and_record_versions(engine: Engine) -> None:
    known = available_migrations()
    versions = [m.version for m in known]
    # Numbers are reserved per feature ahead of time, so gaps are allowed; order is not.
    assert versions == sorted(set(versions)) and versions[0] == 1
    applied = await migrate(engine)
    assert [m.version for m in applied] == [m.version for m in known]
    rows = await engine.fetchall("SELECT version, name, applied_ts FROM schema_migrations"
                                 " ORDER BY version")
    assert [(r["version"], r["name"]) for r in rows] == [(m.version, m.name) for m in known]
    assert all(int(r["applied_ts"]) > 0 for r in rows)
    # The tables exist.
    assert await engine.fetchval("SELECT COUNT(*) FROM users") == 0


async def test_rerunning_migrations_is_a_no_op(engine: Engine) -> None:
    await migrate(engine)
    before = await engine.fetchall("SELECT version, applied_ts FROM schema_migrations")
    assert await migrate(engine) == []
    after = await engine.fetchall("SELECT version, applied_ts FROM schema_migrations")
    assert sorted(map(tuple, before)) == sorted(map(tuple, after))  # type: ignore[arg-type]


async def test_newer_schema_is_refused(engine: Engine) -> None:
    await migrate(engine)
    newest = max(m.version for m in available_migrations())
    await engine.execute("INSERT INTO schema_migrations (version, name, applied_ts)"
                         " VALUES (?, ?, ?)", newest + 1, "from_the_future", 1)
    with pytest.raises(SchemaTooNew, match=str(newest + 1)):
        await migrate(engine)
    # Nothing was changed by the refused run.
    assert max(await applied_versions(engine)) == newest + 1


async def test_concurrent_migrators_apply_each_migration_once(database_url: str) -> None:
    """Two processes starting at once on one database: the lock makes them take turns."""
    engines = [await open_engine(config_for(database_url)) for _ in range(2)]
    try:
        results = await asyncio.gather(*(migrate(e) for e in engines))
    finally:
        for e in engines:
            await e.close()
    applied = sorted(m.version for result in results for m in result)
    assert applied == [m.version for m in available_migrations()]


async def test_transaction_commits(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await tx.users.create("@commit:test", None, admin=False, user_type=None, creation_ts=1)
        # Reads inside the transaction see its own writes.
        assert await tx.users.get("@commit:test") is not None
    assert await storage.users.get("@commit:test") is not None


class Boom(Exception):
    pass


@pytest.mark.parametrize("exc", [Boom("boom"), MatrixError(400, "M_UNKNOWN", "no")])
async def test_transaction_rolls_back_on_exception(storage: Storage, exc: Exception) -> None:
    with pytest.raises(type(exc)):
        async with storage.transaction() as tx:
            await tx.users.create("@rollback:test", None, admin=False, user_type=None,
                                  creation_ts=1)
            await tx.profile.create("@rollback:test", "Roll Back")
            raise exc
    assert await storage.users.get("@rollback:test") is None
    assert await storage.profile.get("@rollback:test") is None
    # The engine is usable afterwards.
    async with storage.transaction() as tx:
        await tx.users.create("@rollback:test", None, admin=False, user_type=None,
                              creation_ts=1)
    assert await storage.users.get("@rollback:test") is not None


async def test_failed_statement_rolls_back_the_transaction(storage: Storage) -> None:
    await storage.users.create("@dup:test", None, admin=False, user_type=None, creation_ts=1)
    with pytest.raises(Exception):  # noqa: B017 - the driver's IntegrityError/UniqueViolation
        async with storage.transaction() as tx:
            await tx.users.create("@other:test", None, admin=False, user_type=None,
                                  creation_ts=1)
            await tx.users.create("@DUP:test", None, admin=False, user_type=None,
                                  creation_ts=1)
    assert await storage.users.get("@other:test") is None


async def test_concurrent_transactions(storage: Storage) -> None:
    async def add(i: int) -> None:
        async with storage.transaction() as tx:
            await tx.users.create(f"@c{i}:test", None, admin=False, user_type=None,
                                  creation_ts=i)
            await asyncio.sleep(0)
            await tx.profile.create(f"@c{i}:test", str(i))

    await asyncio.gather(*(add(i) for i in range(20)))
    assert await storage.engine.fetchval("SELECT COUNT(*) FROM profiles") == 20


async def test_stream_positions_increase(storage: Storage) -> None:
    start = await current_position(storage.engine)
    seen = []
    for _ in range(5):
        async with storage.transaction() as tx:
            seen.append(await tx.next_stream_position())
    assert seen == sorted(seen) and len(set(seen)) == 5
    assert seen[0] > start
    assert await current_position(storage.engine) == seen[-1]


async def test_concurrent_stream_positions_are_unique(storage: Storage) -> None:
    async def take() -> int:
        async with storage.transaction() as tx:
            return await tx.next_stream_position()

    positions = await asyncio.gather(*(take() for _ in range(30)))
    assert len(set(positions)) == 30


async def test_stream_positions_survive_reopening(database_url: str) -> None:
    first = await open_storage(config_for(database_url))
    try:
        async with first.transaction() as tx:
            last = await tx.next_stream_position()
    finally:
        await first.close()
    again = await open_storage(config_for(database_url))
    try:
        assert await current_position(again.engine) == last
        async with again.transaction() as tx:
            assert await tx.next_stream_position() > last
    finally:
        await again.close()


async def test_unknown_counter(storage: Storage) -> None:
    with pytest.raises(Exception):  # noqa: B017 - KeyError (SQLite) or UndefinedTable (PG)
        async with storage.transaction() as tx:
            await tx.next_stream_position("no_such_counter")


async def test_execute_returns_rowcount(storage: Storage) -> None:
    for i in range(3):
        await storage.users.create(f"@rc{i}:test", None, admin=False, user_type=None,
                                   creation_ts=5)
    changed = await storage.engine.execute("UPDATE users SET locked = ? WHERE creation_ts = ?",
                                           True, 5)
    assert changed == 3
    assert await storage.engine.execute("DELETE FROM users WHERE user_id = ?", "@nx:t") == 0


async def test_fetch_helpers(storage: Storage) -> None:
    assert await storage.engine.fetchval("SELECT user_id FROM users WHERE user_id = ?",
                                         "@none:test") is None
    row = await storage.engine.fetchone("SELECT 1 AS one")
    assert row is not None and row["one"] == 1
    rows = await storage.engine.fetchall("SELECT user_id FROM users")
    assert rows == []


async def test_executemany(storage: Storage) -> None:
    await storage.engine.executemany(
        "INSERT INTO users (user_id, password_hash, admin, user_type, is_guest, deactivated,"
        " locked, creation_ts) VALUES (?, NULL, FALSE, NULL, FALSE, FALSE, FALSE, ?)",
        [(f"@many{i}:test", i) for i in range(5)],
    )
    assert await storage.engine.fetchval("SELECT COUNT(*) FROM users") == 5


@pytest.mark.parametrize("value", ["nul\x00inside", "\x00"])
async def test_nul_text_is_refused_on_both_engines(storage: Storage, value: str) -> None:
    with pytest.raises(MatrixError) as caught:
        await storage.users.get(value)
    assert (caught.value.status, caught.value.errcode) == (400, "M_INVALID_PARAM")
    with pytest.raises(MatrixError):
        async with storage.transaction() as tx:
            await tx.users.create(value, None, admin=False, user_type=None, creation_ts=1)
    with pytest.raises(MatrixError):
        await storage.engine.executemany("DELETE FROM users WHERE user_id = ?", [(value,)])


def test_numbered_placeholders() -> None:
    assert to_numbered_placeholders("SELECT ? , ?, f(?)") == "SELECT $1 , $2, f($3)"
    assert to_numbered_placeholders("SELECT 1") == "SELECT 1"


async def test_concurrent_transactions_commit_and_fail_independently(storage: Storage
                                                                     ) -> None:
    """Transactions that queue up together (SQLite commits them as a group) commit or
    roll back each on its own, and a transaction's work is visible to other connections
    as soon as it returned."""

    class Boom(Exception):
        pass

    async def one(i: int) -> None:
        async with storage.transaction() as tx:
            await tx.db.execute("INSERT INTO filters (user_id, filter_id, definition)"
                                " VALUES (?, ?, ?)", "@g:x", i, "{}")
            if i % 3 == 0:
                raise Boom()
        seen = await storage.db.fetchval(
            "SELECT COUNT(*) FROM filters WHERE user_id = ? AND filter_id = ?", "@g:x", i)
        assert seen == 1

    results = await asyncio.gather(*(one(i) for i in range(30)), return_exceptions=True)
    assert [i for i, r in enumerate(results) if isinstance(r, Boom)] == list(range(0, 30, 3))
    assert all(r is None for r in results if not isinstance(r, Boom)), results
    rows = await storage.db.fetchall("SELECT filter_id FROM filters WHERE user_id = ?"
                                     " ORDER BY filter_id", "@g:x")
    assert [r["filter_id"] for r in rows] == [i for i in range(30) if i % 3]


async def test_one_of_takes_lists_past_the_bind_parameter_limit(storage: Storage) -> None:
    """A list of any length is one parameter (both engines cap parameters near 32,767)."""
    engine = storage.engine
    await migrate(engine)
    await engine.execute("INSERT INTO users (user_id, password_hash, creation_ts)"
                         " VALUES (?, ?, ?)", "@listed:x", "", 1)
    strangers = [f"@s{i}:x" for i in range(40_000)]
    for values, negate, expected in (([*strangers, "@listed:x"], False, 1),
                                     (strangers, False, 0), (strangers, True, 1),
                                     ([*strangers, "@listed:x"], True, 0)):
        condition, args = engine.dialect.one_of("user_id", values, negate=negate)
        assert await engine.fetchval(
            f"SELECT COUNT(*) FROM users WHERE {condition}", *args) == expected
    with pytest.raises(MatrixError):
        condition, args = engine.dialect.one_of("user_id", ["@a\x00b:x"])
        await engine.fetchval(f"SELECT COUNT(*) FROM users WHERE {condition}", *args)


async def test_a_long_read_in_a_transaction_lets_other_tasks_run(
        storage: Storage, db_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite runs a transaction's statements on the event loop: a read of thousands of
    rows is stepped through in parts, the loop free to run other work in between (here
    at every part: the time it may hold the loop is set to nothing)."""
    if db_kind != "sqlite":
        pytest.skip("PostgreSQL's statements never run on the event loop")
    from glia.storage import sqlite

    monkeypatch.setattr(sqlite, "YIELD_AFTER", 0.0)
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    count = 10 * sqlite.FETCH_CHUNK + 7
    async with storage.engine.transaction() as tx:
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        rows = await tx.fetchall(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " SELECT i FROM n", count)
        during = ticks - before
        stop.set()
        await task
    assert [r["i"] for r in rows] == list(range(1, count + 1))
    # One turn of the loop before the statement, then one per part read after the first.
    assert during >= 10
