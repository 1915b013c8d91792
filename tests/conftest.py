"""Fixtures: which engine, a PostgreSQL cluster if needed, real Glia servers on loopback.

``GLIA_TEST_DB=sqlite|postgres`` (or ``--db``) picks the engine for the whole run; CI runs
the suite once per engine. ``GLIA_TEST_POSTGRES`` may give a server DSN to use instead of
the throwaway cluster.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from glia.config import Config
from glia.storage import open_storage
from tests.fed_synapse import synapse_peers  # noqa: F401 (a session fixture: one Synapse per run)
from tests.kit import Kit
from tests.pg import Cluster, create_database
from tests.server import GliaProcess

_db_numbers = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=("sqlite", "postgres"), default=None,
                     help="database engine for storage and API tests")


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    kind = request.config.getoption("--db") or os.environ.get("GLIA_TEST_DB", "sqlite")
    assert kind in ("sqlite", "postgres"), kind
    return str(kind)


@pytest.fixture(scope="session")
def pg_admin_dsn(db_kind: str) -> Iterator[str | None]:
    if db_kind != "postgres":
        yield None
        return
    given = os.environ.get("GLIA_TEST_POSTGRES")
    if given:
        yield given
        return
    cluster = Cluster()
    cluster.start()
    try:
        yield cluster.admin_dsn
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def new_empty_database_url(pg_admin_dsn: str | None, tmp_path_factory: pytest.TempPathFactory
                           ) -> Callable[[], str]:
    """Make a fresh, empty database of the engine under test (no schema: for the
    tests of migrations); returns its URL."""

    def make() -> str:
        n = next(_db_numbers)
        if pg_admin_dsn is None:
            return f"sqlite:{tmp_path_factory.mktemp('db')}/glia-{n}.db"
        return create_database(pg_admin_dsn, f"glia_test_{os.getpid()}_{n}")

    return make


@pytest.fixture(scope="session")
def new_database_url(new_empty_database_url: Callable[[], str], pg_admin_dsn: str | None,
                     tmp_path_factory: pytest.TempPathFactory) -> Callable[[], str]:
    """Make a fresh database of the engine under test with Glia's schema; returns its
    URL. Each is a copy of one database migrated at the start of the run (a file copy
    on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL): a run makes hundreds,
    and copying costs a fraction of migrating."""
    template = new_empty_database_url()
    asyncio.run(_migrate(template))

    def make() -> str:
        n = next(_db_numbers)
        if pg_admin_dsn is None:
            path = tmp_path_factory.mktemp("db") / f"glia-{n}.db"
            shutil.copyfile(template.removeprefix("sqlite:"), path)
            return f"sqlite:{path}"
        return create_database(pg_admin_dsn, f"glia_test_{os.getpid()}_{n}",
                               template=template.rsplit("/", 1)[1])

    return make


async def _migrate(url: str) -> None:
    """Apply Glia's migrations to the database at ``url`` and close it (so nothing
    holds it: PostgreSQL copies only a database nobody is connected to)."""
    config = Config(database=dataclasses.replace(Config().database, url=url))
    await (await open_storage(config)).close()


@pytest.fixture(scope="session")
def glia(new_database_url: Callable[[], str]) -> Iterator[GliaProcess]:
    """The server most API tests share (tests use unique user names)."""
    server = GliaProcess(new_database_url()).start()
    yield server
    server.stop()
    _fail_on_server_errors(server)


@pytest.fixture
def glia_factory(new_database_url: Callable[[], str]) -> Iterator[Callable[..., GliaProcess]]:
    """Start extra servers with their own config; stopped after the test."""
    started: list[GliaProcess] = []

    def start(extra_env: dict[str, str] | None = None, **kwargs: object) -> GliaProcess:
        server = GliaProcess(new_database_url(), extra_env, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
    for server in started:
        _fail_on_server_errors(server)


def _fail_on_server_errors(server: GliaProcess) -> None:
    """A 500 in any test is a bug even if the test itself did not look at it."""
    log = server.log()
    assert "Traceback" not in log, f"the server logged a traceback:\n{log[-5000:]}"


@pytest.fixture(scope="session")
def kit(glia: GliaProcess) -> Iterator[Kit]:
    k = Kit(glia.url)
    yield k
    k.close()


@pytest.fixture(scope="session")
def clock_kit(new_database_url: Callable[[], str]) -> Iterator[Kit]:
    """A server of its own for tests that move the clock forward (``Kit.advance_clock``),
    so the shared server's time stays the tests' own; take times from
    ``Kit.server_now()`` on it."""
    server = GliaProcess(new_database_url()).start()
    k = Kit(server.url)
    yield k
    k.close()
    server.stop()
    _fail_on_server_errors(server)


@pytest.fixture(scope="session")
def legacy_media_kit(new_database_url: Callable[[], str]) -> Iterator[Kit]:
    """A server with ``media.enable_authenticated_media`` off, for tests of the legacy
    unauthenticated download and thumbnail paths: the media it stores is served there
    too (on the shared server, fresh uploads are authenticated-only, as in Synapse)."""
    server = GliaProcess(new_database_url(),
                         {"GLIA_MEDIA__ENABLE_AUTHENTICATED_MEDIA": "false"}).start()
    k = Kit(server.url)
    yield k
    k.close()
    server.stop()
    _fail_on_server_errors(server)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
