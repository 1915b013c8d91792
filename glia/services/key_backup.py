"""Server-side key backups (``/room_keys``): backup versions and the encrypted megolm
session keys stored in them.

Keys may only be written to the current version (the newest one not deleted); a write to
an older version is refused with ``403 M_WRONG_ROOM_KEYS_VERSION`` naming the current one,
and to a version that never existed with ``404``, as Synapse answers. When a session is
uploaded twice, the copy kept follows the spec: a verified key beats an unverified one,
then the lower ``first_message_index``, then the lower ``forwarded_count``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from glia import errors
from glia.errors import MatrixError
from glia.protocol.canonical_json import NonNegativeInt
from glia.storage import Storage
from glia.storage.key_backup import BackupVersion, KeyBackupStore, RoomKey

if TYPE_CHECKING:
    from glia.services.unit_of_work import UnitOfWork

_UNKNOWN_VERSION = "Unknown backup version"
JsonDict = dict[str, Any]

#: The spec's one backup algorithm.
MEGOLM_BACKUP_V1 = "m.megolm_backup.v1.curve25519-aes-sha2"


class Curve25519AuthData(msgspec.Struct):
    """``auth_data`` of ``m.megolm_backup.v1.curve25519-aes-sha2``: the backup's public
    key, and signatures over it (by which clients decide whether to trust it)."""

    public_key: str
    signatures: dict[str, dict[str, str]] | None = None


class _Curve25519Backup(msgspec.Struct):
    # Validating {"auth_data": …} makes an error name ``auth_data.<field>``.
    auth_data: Curve25519AuthData


#: What ``auth_data`` must look like, by algorithm; no other algorithm is accepted.
AUTH_DATA_SHAPES: dict[str, type[msgspec.Struct]] = {MEGOLM_BACKUP_V1: _Curve25519Backup}


class BackupVersionInfo(msgspec.Struct):
    """``POST /room_keys/version`` and ``PUT /room_keys/version/{version}``: a known
    algorithm and its ``auth_data``. ``auth_data`` is stored and served back whole
    (clients sign it and may add fields), after its shape is checked by algorithm;
    ``version``, on an update, must name the version in the path."""

    algorithm: str
    auth_data: dict[str, Any]
    version: str | None = None

    def __post_init__(self) -> None:
        shape = AUTH_DATA_SHAPES.get(self.algorithm)
        if shape is None:
            raise errors.invalid_param(f"Unknown backup algorithm: {self.algorithm}")
        msgspec.convert({"auth_data": self.auth_data}, shape, strict=True)


#: A count in a session's key data: a JSON-safe non-negative integer.


class KeyBackupData(msgspec.Struct):
    """One backed-up session (``PUT /room_keys/keys/{roomId}/{sessionId}``):
    ``session_data`` is encrypted by the client and opaque here."""

    first_message_index: NonNegativeInt
    forwarded_count: NonNegativeInt
    is_verified: bool
    session_data: dict[str, Any]

    @classmethod
    def of(cls, key: RoomKey) -> KeyBackupData:
        return cls(key.first_message_index, key.forwarded_count, key.is_verified,
                   key.session_data)

    def room_key(self, room_id: str, session_id: str) -> RoomKey:
        return RoomKey(room_id, session_id, self.first_message_index, self.forwarded_count,
                       self.is_verified, self.session_data)


class RoomKeyBackup(msgspec.Struct):
    """A room's sessions (``PUT /room_keys/keys/{roomId}``)."""

    sessions: dict[str, KeyBackupData]

    def room_keys(self, room_id: str) -> list[RoomKey]:
        return [data.room_key(room_id, session_id)
                for session_id, data in self.sessions.items()]


class KeysBackup(msgspec.Struct):
    """Every room's sessions (``PUT /room_keys/keys``)."""

    rooms: dict[str, RoomKeyBackup]

    def room_keys(self) -> list[RoomKey]:
        return [key for room_id, room in self.rooms.items() for key in room.room_keys(room_id)]


def parse_version(version: str) -> int | None:
    """A backup version is a decimal string this server handed out; anything else names
    no backup."""
    if not version.isascii() or not version.isdigit() or len(version) > 18:
        return None
    return int(version)


class BackupCreated(msgspec.Struct, frozen=True):
    version: str


class BackupVersionResult(msgspec.Struct, frozen=True):
    """A backup version as clients read it (``auth_data`` as they uploaded it)."""

    algorithm: str
    auth_data: JsonDict
    count: int
    etag: str
    version: str

    @classmethod
    def of(cls, version: BackupVersion, count: int) -> BackupVersionResult:
        return cls(version.algorithm, version.auth_data, count, str(version.etag),
                   str(version.version))


class BackupCounts(msgspec.Struct, frozen=True):
    """After a change to a backup's keys: its new ``etag`` and how many keys it holds."""

    etag: str
    count: int


def should_replace(old: RoomKey, new: RoomKey) -> bool:
    """The spec's rule for two copies of one session: keep the verified one; else the
    one with the lower first message index; else the less forwarded one."""
    if old.is_verified != new.is_verified:
        return new.is_verified
    if old.first_message_index != new.first_message_index:
        return new.first_message_index < old.first_message_index
    return new.forwarded_count < old.forwarded_count


class KeyBackupService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    # -- versions ----------------------------------------------------------------------

    async def create_version(self, uow: UnitOfWork, info: BackupVersionInfo) -> BackupCreated:
        user_id = uow.requester.user_id
        async with uow.transaction() as tx:
            version = await tx.key_backup.create_version(user_id, info.algorithm,
                                                         info.auth_data)
        return BackupCreated(str(version))

    async def get_version(self, user_id: str, version: str | None) -> BackupVersionResult:
        """The given version, or (None) the current one."""
        store = self._storage.key_backup
        if version is None:
            found = await store.current_version(user_id)
            if found is None:
                raise errors.not_found("No backup found")
        else:
            found = await self._existing(user_id, version)
        return BackupVersionResult.of(found, await store.count(user_id, found.version))

    async def update_version(self, uow: UnitOfWork, version: str, info: BackupVersionInfo
                             ) -> None:
        """Only ``auth_data`` may change; ``algorithm`` must be the backup's."""
        user_id = uow.requester.user_id
        if info.version is not None and info.version != version:
            raise errors.invalid_param("Version in body does not match")
        async with uow.transaction() as tx:
            found = await self._existing(user_id, version, tx.key_backup)
            if found.algorithm != info.algorithm:
                raise errors.invalid_param("Algorithm does not match")
            await tx.key_backup.set_auth_data(user_id, found.version, info.auth_data)

    async def delete_version(self, uow: UnitOfWork, version: str) -> None:
        """Delete a version and its keys; deleting it again succeeds (the spec)."""
        user_id = uow.requester.user_id
        number = parse_version(version)
        async with uow.transaction() as tx:
            found = None if number is None else await tx.key_backup.get_version(user_id,
                                                                                number)
            if found is None:
                raise errors.not_found(_UNKNOWN_VERSION)
            await tx.key_backup.mark_deleted(user_id, found.version)

    async def _existing(self, user_id: str, version: str,
                        store: KeyBackupStore | None = None) -> BackupVersion:
        """A version that exists and is not deleted (404 otherwise)."""
        number = parse_version(version)
        store = store or self._storage.key_backup
        found = None if number is None else await store.get_version(user_id, number)
        if found is None or found.deleted:
            raise errors.not_found(_UNKNOWN_VERSION)
        return found

    # -- keys --------------------------------------------------------------------------

    async def put_keys(self, uow: UnitOfWork, version: str, keys: list[RoomKey]
                       ) -> BackupCounts:
        """Merge uploaded keys into the current version; returns its ``etag`` and ``count``."""
        user_id = uow.requester.user_id
        number = parse_version(version)
        async with uow.transaction() as tx:
            store = tx.key_backup
            current = await store.current_version(user_id)
            if current is None or number is None:
                raise errors.not_found(_UNKNOWN_VERSION)
            if number != current.version:
                if await store.get_version(user_id, number) is None:
                    raise errors.not_found(_UNKNOWN_VERSION)
                raise MatrixError(403, "M_WRONG_ROOM_KEYS_VERSION", "Wrong backup version.",
                                  current_version=str(current.version))
            await store.lock_version(user_id, number)
            changed = False
            existing: dict[tuple[str, str], RoomKey] = {}
            for room_id in sorted({k.room_id for k in keys}):
                existing.update({(k.room_id, k.session_id): k
                                 for k in await store.keys(user_id, number, room_id)})
            for key in keys:
                old = existing.get((key.room_id, key.session_id))
                if old is None or should_replace(old, key):
                    await store.put_key(user_id, number, key)
                    existing[(key.room_id, key.session_id)] = key
                    changed = True
            etag = await store.bump_etag(user_id, number) if changed else current.etag
            count = await store.count(user_id, number)
        return BackupCounts(str(etag), count)

    async def all_keys(self, user_id: str, version: str) -> KeysBackup:
        rooms: dict[str, RoomKeyBackup] = {}
        for key in await self._keys(user_id, version, None, None):
            rooms.setdefault(key.room_id, RoomKeyBackup({})).sessions[key.session_id] = (
                KeyBackupData.of(key))
        return KeysBackup(rooms)

    async def room_keys(self, user_id: str, version: str, room_id: str) -> RoomKeyBackup:
        """A room's sessions (none: an empty ``sessions``)."""
        keys = await self._keys(user_id, version, room_id, None)
        return RoomKeyBackup({key.session_id: KeyBackupData.of(key) for key in keys})

    async def session_key(self, user_id: str, version: str, room_id: str,
                          session_id: str) -> KeyBackupData:
        keys = await self._keys(user_id, version, room_id, session_id)
        if not keys:
            raise errors.not_found("No room_keys found")
        return KeyBackupData.of(keys[0])

    async def _keys(self, user_id: str, version: str, room_id: str | None,
                    session_id: str | None) -> list[RoomKey]:
        found = await self._existing(user_id, version)
        return await self._storage.key_backup.keys(user_id, found.version, room_id,
                                                   session_id)

    async def delete_keys(self, uow: UnitOfWork, version: str, room_id: str | None = None,
                          session_id: str | None = None) -> BackupCounts:
        user_id = uow.requester.user_id
        async with uow.transaction() as tx:
            found = await self._existing(user_id, version, tx.key_backup)
            await tx.key_backup.lock_version(user_id, found.version)
            deleted = await tx.key_backup.delete_keys(user_id, found.version, room_id,
                                                      session_id)
            etag = (await tx.key_backup.bump_etag(user_id, found.version) if deleted
                    else found.etag)
            count = await tx.key_backup.count(user_id, found.version)
        return BackupCounts(str(etag), count)
