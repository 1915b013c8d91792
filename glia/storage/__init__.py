"""The storage facade: the narrow interface the rest of Glia sees.

``Storage`` exposes one store per area (``storage.users``, ``storage.devices`` …) bound to
the connection pool, and ``storage.transaction()`` yields the same facade bound to one
transaction, so a service can do cross-area work atomically without stores calling each
other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property

from glia.config import Config
from glia.storage.admin_rooms import AdminRoomStore
from glia.storage.audit import AuditStore
from glia.storage.devices import DeviceStore
from glia.storage.directory import DirectoryStore
from glia.storage.engine import Engine, Executor
from glia.storage.events import EventStore
from glia.storage.jobs import JobStore
from glia.storage.migrate import migrate
from glia.storage.profile import ProfileStore
from glia.storage.registration import RegistrationStore
from glia.storage.registration_tokens import RegistrationTokenStore
from glia.storage.reports import ReportStore
from glia.storage.rooms import RoomStore
from glia.storage.state import StateStore
from glia.storage.streams import next_position
from glia.storage.uia import UiaStore
from glia.storage.users import AdminUserStore, UserStore


class Stores:
    """Every area store, bound to one executor (the pool or a transaction)."""

    def __init__(self, engine: Engine, db: Executor) -> None:
        self.engine = engine
        self.db = db

    @cached_property
    def users(self) -> UserStore:
        return UserStore(self.db)

    @cached_property
    def profile(self) -> ProfileStore:
        return ProfileStore(self.db)

    @cached_property
    def devices(self) -> DeviceStore:
        return DeviceStore(self.db)

    @cached_property
    def registration(self) -> RegistrationStore:
        return RegistrationStore(self.db)

    @cached_property
    def uia(self) -> UiaStore:
        return UiaStore(self.db)

    @cached_property
    def registration_tokens(self) -> RegistrationTokenStore:
        return RegistrationTokenStore(self.db)

    @cached_property
    def rooms(self) -> RoomStore:
        return RoomStore(self.db, self.engine.name)

    @cached_property
    def events(self) -> EventStore:
        return EventStore(self.db)

    @cached_property
    def state(self) -> StateStore:
        return StateStore(self.db)

    @cached_property
    def directory(self) -> DirectoryStore:
        return DirectoryStore(self.db)

    @cached_property
    def admin_users(self) -> AdminUserStore:
        return AdminUserStore(self.db)

    @cached_property
    def admin_rooms(self) -> AdminRoomStore:
        return AdminRoomStore(self.db)

    @cached_property
    def audit(self) -> AuditStore:
        return AuditStore(self.db)

    @cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.db)

    @cached_property
    def reports(self) -> ReportStore:
        return ReportStore(self.db)

    async def next_stream_position(self, counter: str = "stream") -> int:
        return await next_position(self.engine, self.db, counter)


class Storage(Stores):
    """The pool-bound facade; ``transaction()`` gives a transaction-bound one."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Stores]:
        async with self.engine.transaction() as tx:
            yield Stores(self.engine, tx)

    async def close(self) -> None:
        await self.engine.close()


async def open_engine(config: Config) -> Engine:
    if config.is_postgres:
        from glia.storage.postgres import PostgresEngine

        return await PostgresEngine.connect(config.database.url, config.database.pool_size)
    from glia.storage.sqlite import SqliteEngine

    return SqliteEngine(config.sqlite_path, config.database.sqlite_synchronous)


async def open_storage(config: Config, *, run_migrations: bool = True) -> Storage:
    engine = await open_engine(config)
    if run_migrations:
        await migrate(engine)
    return Storage(engine)


__all__ = ["Storage", "Stores", "open_engine", "open_storage"]
