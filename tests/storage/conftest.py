"""Storage fixtures: a fresh database of the engine under test, per test (``storage``) or
shared by one module's tests (``shared``, for tests that use their own unique IDs)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from glia.config import Config
from glia.storage import Storage, open_engine, open_storage
from glia.storage.engine import Engine


def config_for(url: str) -> Config:
    return Config(database=dataclasses.replace(Config().database, url=url,
                                               sqlite_synchronous="normal"))


@pytest.fixture
def database_url(new_empty_database_url: Callable[[], str]) -> str:
    """A fresh, empty database (no schema). Synchronous: creating a PostgreSQL database
    runs its own event loop."""
    return new_empty_database_url()


@pytest.fixture
def migrated_database_url(new_database_url: Callable[[], str]) -> str:
    """A fresh database with Glia's schema."""
    return new_database_url()


@pytest_asyncio.fixture
async def storage(migrated_database_url: str) -> AsyncIterator[Storage]:
    """Storage on a fresh, migrated database."""
    s = await open_storage(config_for(migrated_database_url))
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture(scope="module")
def shared_database_url(new_database_url: Callable[[], str]) -> str:
    return new_database_url()


@pytest_asyncio.fixture(scope="module")
async def shared(shared_database_url: str) -> AsyncIterator[Storage]:
    """Storage on a fresh, migrated database shared by the tests of one module: opening
    one per test would cost more than most store tests take."""
    s = await open_storage(config_for(shared_database_url))
    try:
        yield s
    finally:
        await s.close()


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[Engine]:
    """A bare engine on a fresh, empty database (no migrations applied)."""
    e = await open_engine(config_for(database_url))
    try:
        yield e
    finally:
        await e.close()
