"""Server-side key backups (``/room_keys``): backup versions and the encrypted megolm
session keys stored in them.

Keys may only be written to the current version (the newest one not deleted); a write to
an older version is refused with ``403 M_WRONG_ROOM_KEYS_VERSION`` naming the current one,
and to a version that never existed with ``404``, as Synapse answers. When a session is
uploaded twice, the copy kept follows the spec: a verified key beats an unverified one,
then the lower ``first_message_index``, then the lower ``forwarded_count``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.errors import MatrixError
from glia.storage import Storage
from glia.storage.key_backup import BackupVersion, KeyBackupStore, RoomKey

_UNKNOWN_VERSION = "Unknown backup version"
JsonDict = dict[str, Any]


def parse_version(version: str) -> int | None:
    """A backup version is a decimal string this server handed out; anything else names
    no backup."""
    if not version.isascii() or not version.isdigit() or len(version) > 18:
        return None
    return int(version)


def version_json(version: BackupVersion, count: int) -> JsonDict:
    return {"algorithm": version.algorithm, "auth_data": version.auth_data,
            "count": count, "etag": str(version.etag), "version": str(version.version)}


def key_json(key: RoomKey) -> JsonDict:
    return {"first_message_index": key.first_message_index,
            "forwarded_count": key.forwarded_count, "is_verified": key.is_verified,
            "session_data": key.session_data}


def should_replace(old: RoomKey, new: RoomKey) -> bool:
    """The spec's rule for two copies of one session: keep the verified one; else the
    one with the lower first message index; else the less forwarded one."""
    if old.is_verified != new.is_verified:
        return new.is_verified
    if old.first_message_index != new.first_message_index:
        return new.first_message_index < old.first_message_index
    return new.forwarded_count < old.forwarded_count


def _count_field(data: Mapping[str, Any], field: str, where: str) -> int:
    if field not in data:
        raise errors.missing_param(f"Missing params: ['{field}'] in {where}")
    value = data[field]
    if type(value) is not int:
        raise errors.bad_json(f"{field} must be an integer in {where}")
    if not 0 <= value < 2**53:
        raise errors.invalid_param(f"{field} must be a non-negative integer in {where}")
    return value


def parse_key(room_id: str, session_id: str, data: Any) -> RoomKey:
    where = f"session {session_id} of room {room_id}"
    if not isinstance(data, dict):
        raise errors.bad_json(f"The key data of {where} must be a JSON object")
    first = _count_field(data, "first_message_index", where)
    forwarded = _count_field(data, "forwarded_count", where)
    if "is_verified" not in data:
        raise errors.missing_param(f"Missing params: ['is_verified'] in {where}")
    if not isinstance(data["is_verified"], bool):
        raise errors.invalid_param(f"is_verified must be a boolean in {where}")
    if "session_data" not in data:
        raise errors.missing_param(f"Missing params: ['session_data'] in {where}")
    if not isinstance(data["session_data"], dict):
        raise errors.bad_json(f"session_data must be a JSON object in {where}")
    return RoomKey(room_id, session_id, first, forwarded, data["is_verified"],
                   data["session_data"])


def parse_sessions(room_id: str, room: Any) -> list[RoomKey]:
    if not isinstance(room, dict) or not isinstance(room.get("sessions"), dict):
        raise errors.bad_json(f"Room {room_id} must be an object with a 'sessions' object")
    return [parse_key(room_id, session_id, data)
            for session_id, data in room["sessions"].items()]


def parse_rooms(body: Mapping[str, Any]) -> list[RoomKey]:
    rooms = body.get("rooms")
    if rooms is None:
        raise errors.missing_param("Missing params: ['rooms']")
    if not isinstance(rooms, dict):
        raise errors.bad_json("rooms must be a JSON object")
    return [key for room_id, room in rooms.items() for key in parse_sessions(room_id, room)]


def _algorithm_and_auth_data(body: Mapping[str, Any]) -> tuple[str, JsonDict]:
    for field in ("algorithm", "auth_data"):
        if field not in body:
            raise errors.missing_param(f"Missing params: ['{field}']")
    if not isinstance(body["algorithm"], str) or not body["algorithm"]:
        raise errors.bad_json("algorithm must be a non-empty string")
    if not isinstance(body["auth_data"], dict):
        raise errors.bad_json("auth_data must be a JSON object")
    return body["algorithm"], body["auth_data"]


class KeyBackupService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    # -- versions ----------------------------------------------------------------------

    async def create_version(self, user_id: str, body: Mapping[str, Any]) -> JsonDict:
        algorithm, auth_data = _algorithm_and_auth_data(body)
        async with self._storage.transaction() as tx:
            version = await tx.key_backup.create_version(user_id, algorithm, auth_data)
        return {"version": str(version)}

    async def get_version(self, user_id: str, version: str | None) -> JsonDict:
        """The given version, or (None) the current one."""
        store = self._storage.key_backup
        if version is None:
            found = await store.current_version(user_id)
            if found is None:
                raise errors.not_found("No backup found")
        else:
            found = await self._existing(user_id, version)
        return version_json(found, await store.count(user_id, found.version))

    async def update_version(self, user_id: str, version: str, body: Mapping[str, Any]
                             ) -> JsonDict:
        """Only ``auth_data`` may change; ``algorithm`` must be the backup's."""
        algorithm, auth_data = _algorithm_and_auth_data(body)
        if "version" in body and body["version"] != version:
            raise errors.invalid_param("Version in body does not match")
        async with self._storage.transaction() as tx:
            found = await self._existing(user_id, version, tx.key_backup)
            if found.algorithm != algorithm:
                raise errors.invalid_param("Algorithm does not match")
            await tx.key_backup.set_auth_data(user_id, found.version, auth_data)
        return {}

    async def delete_version(self, user_id: str, version: str) -> JsonDict:
        """Delete a version and its keys; deleting it again succeeds (the spec)."""
        number = parse_version(version)
        async with self._storage.transaction() as tx:
            found = None if number is None else await tx.key_backup.get_version(user_id,
                                                                                number)
            if found is None:
                raise errors.not_found(_UNKNOWN_VERSION)
            await tx.key_backup.mark_deleted(user_id, found.version)
        return {}

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

    async def put_keys(self, user_id: str, version: str, keys: list[RoomKey]) -> JsonDict:
        """Merge uploaded keys into the current version; returns its ``etag`` and ``count``."""
        number = parse_version(version)
        async with self._storage.transaction() as tx:
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
        return {"etag": str(etag), "count": count}

    async def get_keys(self, user_id: str, version: str, room_id: str | None = None,
                       session_id: str | None = None) -> JsonDict:
        found = await self._existing(user_id, version)
        keys = await self._storage.key_backup.keys(user_id, found.version, room_id, session_id)
        if session_id is not None:
            if not keys:
                raise errors.not_found("No room_keys found")
            return key_json(keys[0])
        sessions: dict[str, JsonDict] = {}
        rooms: dict[str, JsonDict] = {}
        for key in keys:
            rooms.setdefault(key.room_id, {"sessions": {}})["sessions"][key.session_id] = (
                key_json(key))
        if room_id is not None:
            return rooms.get(room_id, {"sessions": sessions})
        return {"rooms": rooms}

    async def delete_keys(self, user_id: str, version: str, room_id: str | None = None,
                          session_id: str | None = None) -> JsonDict:
        async with self._storage.transaction() as tx:
            found = await self._existing(user_id, version, tx.key_backup)
            await tx.key_backup.lock_version(user_id, found.version)
            deleted = await tx.key_backup.delete_keys(user_id, found.version, room_id,
                                                      session_id)
            etag = (await tx.key_backup.bump_etag(user_id, found.version) if deleted
                    else found.etag)
            count = await tx.key_backup.count(user_id, found.version)
        return {"etag": str(etag), "count": count}
