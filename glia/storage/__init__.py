"""The storage facade: the narrow interface the rest of Glia sees.

``Storage`` exposes one store per area (``storage.users``, ``storage.devices`` …) bound to
the connection pool, and ``storage.transaction()`` yields the same facade bound to one
transaction, so a service can do cross-area work atomically without stores calling each
other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import cached_property

from glia.config import Config
from glia.storage.account_data import AccountDataStore
from glia.storage.account_validity import AccountValidityStore
from glia.storage.admin_rooms import AdminRoomStore
from glia.storage.appservices import AppServiceStore
from glia.storage.audit import AuditStore
from glia.storage.background_updates import BackgroundUpdatesStore
from glia.storage.cross_signing_replacement import CrossSigningReplacementStore
from glia.storage.devices import DeviceStore
from glia.storage.directory import DirectoryStore
from glia.storage.engine import Engine, Executor
from glia.storage.events import EventStore
from glia.storage.experimental import ExperimentalFeatureStore
from glia.storage.failed_logins import FailedLoginStore
from glia.storage.federation_destinations import FederationDestinationStore
from glia.storage.federation_e2ee import FederationE2eeStore
from glia.storage.federation_knocks import FederationKnockStore
from glia.storage.federation_leases import FederationLeaseStore
from glia.storage.federation_queue import FederationQueueStore
from glia.storage.filters import FilterStore
from glia.storage.health import HealthStore
from glia.storage.jobs import JobStore
from glia.storage.key_backup import KeyBackupStore
from glia.storage.keys import KeyStore
from glia.storage.media import MediaStore
from glia.storage.migrate import migrate
from glia.storage.openid import OpenIdStore
from glia.storage.outbox import OutboxStore
from glia.storage.presence import PresenceStore
from glia.storage.profile import ProfileStore
from glia.storage.push import PushStore
from glia.storage.ratelimit_buckets import RatelimitBucketStore
from glia.storage.ratelimit_overrides import RatelimitOverrideStore
from glia.storage.receipts import ReceiptStore
from glia.storage.registration import RegistrationStore
from glia.storage.registration_tokens import RegistrationTokenStore
from glia.storage.remote_media import RemoteMediaStore
from glia.storage.reports import ReportStore
from glia.storage.rooms import RoomStore
from glia.storage.search import SearchStore
from glia.storage.server_keys import ServerKeyStore
from glia.storage.server_memberships import ServerMembershipStore
from glia.storage.server_notices import ServerNoticeStore
from glia.storage.spaces import SpaceStore
from glia.storage.state import StateStore
from glia.storage.statistics import StatisticsStore
from glia.storage.streams import (
    STREAM,
    STREAM_MARK,
    committed_upto,
    current_position,
    next_position,
)
from glia.storage.stripped_state import StrippedStateStore
from glia.storage.threepids import ThreepidStore
from glia.storage.to_device import ToDeviceStore
from glia.storage.typing import TypingStore
from glia.storage.uia import UiaStore
from glia.storage.url_previews import UrlPreviewStore
from glia.storage.user_directory import UserDirectoryStore
from glia.storage.users import AdminUserStore, UserStore


class Stores:
    """Every area store, bound to one executor (the pool or a transaction)."""

    def __init__(self, engine: Engine, db: Executor,
                 inflight: _TxContext | None = None) -> None:
        self.engine = engine
        self.db = db
        self._inflight = inflight

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed (at once outside one):
        for wake-ups that must not fire before what they announce is visible."""
        if self._inflight is None:
            callback()
        else:
            self._inflight.callbacks.append(callback)

    def keep_in_flight(self) -> Callable[[], None]:
        """Keep this transaction's stream positions from this process's readers after it
        commits, until the returned function is called (once is enough; more is
        harmless): the event writer shows events only once their subscribers ran. If the
        transaction fails, its positions are released as usual."""
        if self._inflight is None:
            return lambda: None
        return self._inflight.keep()

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
        return RoomStore(self.db, self.engine.dialect)

    @cached_property
    def events(self) -> EventStore:
        return EventStore(self.db, self.engine.dialect)

    @cached_property
    def state(self) -> StateStore:
        return StateStore(self.db)

    @cached_property
    def outbox(self) -> OutboxStore:
        return OutboxStore(self.db)

    @cached_property
    def search(self) -> SearchStore:
        return SearchStore(self.db, self.engine.dialect)

    @cached_property
    def media(self) -> MediaStore:
        return MediaStore(self.db)

    @cached_property
    def directory(self) -> DirectoryStore:
        return DirectoryStore(self.db)

    @cached_property
    def filters(self) -> FilterStore:
        return FilterStore(self.db)

    @cached_property
    def account_data(self) -> AccountDataStore:
        return AccountDataStore(self.db)

    @cached_property
    def receipts(self) -> ReceiptStore:
        return ReceiptStore(self.db)

    @cached_property
    def typing(self) -> TypingStore:
        return TypingStore(self.db)

    @cached_property
    def presence(self) -> PresenceStore:
        return PresenceStore(self.db)

    @cached_property
    def server_notices(self) -> ServerNoticeStore:
        return ServerNoticeStore(self.db)

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

    @cached_property
    def keys(self) -> KeyStore:
        return KeyStore(self.db, self.engine.dialect)

    @cached_property
    def to_device(self) -> ToDeviceStore:
        return ToDeviceStore(self.db)

    @cached_property
    def key_backup(self) -> KeyBackupStore:
        return KeyBackupStore(self.db)

    @cached_property
    def push(self) -> PushStore:
        return PushStore(self.db)

    @cached_property
    def statistics(self) -> StatisticsStore:
        return StatisticsStore(self.db)

    @cached_property
    def ratelimit_overrides(self) -> RatelimitOverrideStore:
        return RatelimitOverrideStore(self.db)

    @cached_property
    def ratelimit_buckets(self) -> RatelimitBucketStore:
        return RatelimitBucketStore(self.db)

    @cached_property
    def failed_logins(self) -> FailedLoginStore:
        return FailedLoginStore(self.db)

    @cached_property
    def experimental_features(self) -> ExperimentalFeatureStore:
        return ExperimentalFeatureStore(self.db)

    @cached_property
    def spaces(self) -> SpaceStore:
        return SpaceStore(self.db)

    @cached_property
    def openid(self) -> OpenIdStore:
        return OpenIdStore(self.db)

    @cached_property
    def server_keys(self) -> ServerKeyStore:
        return ServerKeyStore(self.db)

    @cached_property
    def health(self) -> HealthStore:
        return HealthStore(self.db)

    @cached_property
    def cross_signing_replacement(self) -> CrossSigningReplacementStore:
        return CrossSigningReplacementStore(self.db)

    @cached_property
    def appservices(self) -> AppServiceStore:
        return AppServiceStore(self.db)

    @cached_property
    def federation_destinations(self) -> FederationDestinationStore:
        return FederationDestinationStore(self.db)

    @cached_property
    def federation_queue(self) -> FederationQueueStore:
        return FederationQueueStore(self.db)

    @cached_property
    def federation_knocks(self) -> FederationKnockStore:
        return FederationKnockStore(self.db)

    @cached_property
    def stripped_state(self) -> StrippedStateStore:
        return StrippedStateStore(self.db)

    @cached_property
    def federation_leases(self) -> FederationLeaseStore:
        return FederationLeaseStore(self.db)

    @cached_property
    def federation_e2ee(self) -> FederationE2eeStore:
        return FederationE2eeStore(self.db)

    @cached_property
    def remote_media(self) -> RemoteMediaStore:
        return RemoteMediaStore(self.db)

    @cached_property
    def account_validity(self) -> AccountValidityStore:
        return AccountValidityStore(self.db)

    @cached_property
    def background_updates(self) -> BackgroundUpdatesStore:
        return BackgroundUpdatesStore(self.db)

    @cached_property
    def user_directory(self) -> UserDirectoryStore:
        return UserDirectoryStore(self.db)

    @cached_property
    def url_previews(self) -> UrlPreviewStore:
        return UrlPreviewStore(self.db)

    @cached_property
    def threepids(self) -> ThreepidStore:
        return ThreepidStore(self.db)

    @cached_property
    def server_memberships(self) -> ServerMembershipStore:
        return ServerMembershipStore(self.db)

    async def next_stream_position(self, counter: str = STREAM) -> int:
        if counter != STREAM or self._inflight is None:
            return await next_position(self.engine, self.db, counter)
        # Until its value is known, an allocation holds a placeholder that is a lower
        # bound for it (positions only grow), so a reader never passes over it.
        placeholder = self._inflight.reserve()
        try:
            if self._inflight.ordered and not self._inflight.marked:
                # The same for other processes' readers (see storage.streams); the first
                # mark is a lower bound of every later position of this transaction.
                await self.engine.dialect.mark_in_flight(self.db, counter, STREAM_MARK)
                self._inflight.marked = True
            position = await next_position(self.engine, self.db, counter)
        finally:
            self._inflight.release(placeholder)
        self._inflight.hold(position)
        return position


class InFlight:
    """Stream positions handed out to transactions of this process that have not ended.

    On PostgreSQL a position is taken from a sequence at once but becomes visible only
    when its transaction commits, so positions can commit out of order. A reader that
    promised "everything up to N" (a sync token) must not pass a position still in
    flight, or that event would be skipped forever. (Other processes' positions are
    marked in the database instead; see ``storage.streams``.)
    """

    def __init__(self) -> None:
        self._positions: dict[int, int] = {}
        self._last_seen = 0

    def reserve(self) -> int:
        placeholder = self._last_seen + 1
        self._positions[placeholder] = self._positions.get(placeholder, 0) + 1
        return placeholder

    def hold(self, position: int) -> None:
        self._last_seen = max(self._last_seen, position)
        self._positions[position] = self._positions.get(position, 0) + 1

    def release(self, position: int) -> None:
        left = self._positions.get(position, 0) - 1
        if left > 0:
            self._positions[position] = left
        else:
            self._positions.pop(position, None)

    def safe_upto(self, current: int) -> int:
        self._last_seen = max(self._last_seen, current)
        return min(current, min(self._positions) - 1) if self._positions else current


class _TxContext:
    """One transaction's view of :class:`InFlight` (its positions are released when it
    ends) and its after-commit callbacks."""

    def __init__(self, shared: InFlight, ordered: bool) -> None:
        self._shared = shared
        self._held: list[int] = []
        self.callbacks: list[Callable[[], None]] = []
        #: Positions held past the commit, when :meth:`keep` was called.
        self._kept: list[int] | None = None
        #: Other processes share the stream: mark positions in flight for them too
        #: (see ``storage.streams``); whether this transaction has.
        self.ordered = ordered
        self.marked = False

    def reserve(self) -> int:
        return self._shared.reserve()

    def release(self, position: int) -> None:
        self._shared.release(position)

    def hold(self, position: int) -> None:
        self._shared.hold(position)
        self._held.append(position)

    def keep(self) -> Callable[[], None]:
        kept = self._kept = []

        def release() -> None:
            for position in kept:
                self._shared.release(position)
            kept.clear()

        return release

    def end(self, committed: bool) -> None:
        if committed and self._kept is not None:
            self._kept.extend(self._held)  # released by keep()'s function
        else:
            for position in self._held:
                self._shared.release(position)
        self._held.clear()


class Storage(Stores):
    """The pool-bound facade; ``transaction()`` gives a transaction-bound one."""

    def __init__(self, engine: Engine, several_processes: bool = False) -> None:
        super().__init__(engine, engine)
        self._stream_inflight = InFlight()
        self._ordered = several_processes and engine.dialect.shared_by_processes
        #: The highest position :meth:`stream_upto` found safe: it stays safe, so a
        #: later answer never goes below it.
        self._upto_floor = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Stores]:
        context = _TxContext(self._stream_inflight, self._ordered)
        committed = False
        try:
            async with self.engine.transaction() as tx:
                yield Stores(self.engine, tx, context)
            committed = True
        finally:
            context.end(committed)
        for callback in context.callbacks:
            callback()

    @property
    def shared_by_processes(self) -> bool:
        """Several processes may serve this database (PostgreSQL), so wake-ups must
        travel between them."""
        return self.engine.dialect.shared_by_processes

    async def listen(self, channel: str, callback: Callable[[str], None]
                     ) -> Callable[[], Awaitable[None]]:
        from glia.storage.postgres import PostgresEngine

        assert isinstance(self.engine, PostgresEngine)
        return await self.engine.listen(channel, callback)

    async def notify(self, channel: str, payload: str) -> None:
        from glia.storage.postgres import PostgresEngine

        assert isinstance(self.engine, PostgresEngine)
        await self.engine.notify(channel, payload)

    async def stream_upto(self) -> int:
        """The stream position up to which everything has committed and, for this
        process's events, been published to the subscribers readers depend on: the end
        of what a sync may promise. With ``several_processes``, other processes'
        transactions in flight count too (``storage.streams.committed_upto``)."""
        if not self._ordered:
            return self._stream_inflight.safe_upto(await current_position(self.engine))
        # Other processes' positions in flight cap it too; it never waits for a writer.
        upto = self._stream_inflight.safe_upto(await committed_upto(self.engine))
        self._upto_floor = max(self._upto_floor, upto)
        return self._upto_floor

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
    return Storage(engine, config.database.several_processes)


__all__ = ["Storage", "Stores", "open_engine", "open_storage"]
