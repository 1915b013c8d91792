"""Server-side key backups (``/room_keys``): versions per user and the encrypted room keys
stored in each. The server never sees inside ``session_data``; it only keeps the best copy
of each session by the spec's rules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor, Row


@dataclass(frozen=True)
class BackupVersion:
    user_id: str
    version: int
    algorithm: str
    auth_data: dict[str, Any]
    etag: int
    deleted: bool


@dataclass(frozen=True)
class RoomKey:
    room_id: str
    session_id: str
    first_message_index: int
    forwarded_count: int
    is_verified: bool
    session_data: dict[str, Any]


def _version(row: Row) -> BackupVersion:
    return BackupVersion(row["user_id"], int(row["version"]), row["algorithm"],
                         json.loads(row["auth_data"]), int(row["etag"]), bool(row["deleted"]))


def _room_key(row: Row) -> RoomKey:
    return RoomKey(row["room_id"], row["session_id"], int(row["first_message_index"]),
                   int(row["forwarded_count"]), bool(row["is_verified"]),
                   json.loads(row["session_data"]))


_VERSION_COLUMNS = "user_id, version, algorithm, auth_data, etag, deleted"
_KEY_COLUMNS = ("room_id, session_id, first_message_index, forwarded_count, is_verified,"
                " session_data")


class KeyBackupStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    # -- versions ----------------------------------------------------------------------

    async def create_version(self, user_id: str, algorithm: str,
                             auth_data: dict[str, Any]) -> int:
        """A new version, one above every version the user ever had (deleted ones too).
        Two concurrent creations cannot both take a number: the loser of the primary key
        inserts nothing and tries the next."""
        for _ in range(100):
            version = await self._db.fetchval(
                "INSERT INTO e2e_room_keys_versions (user_id, version, algorithm, auth_data,"
                " etag, deleted) SELECT CAST(? AS TEXT), COALESCE(MAX(version), 0) + 1,"
                " CAST(? AS TEXT), CAST(? AS TEXT), 0, FALSE"
                " FROM e2e_room_keys_versions WHERE user_id = ?"
                " ON CONFLICT DO NOTHING RETURNING version",
                user_id, algorithm, json.dumps(auth_data, ensure_ascii=False), user_id)
            if version is not None:
                return int(version)
        raise RuntimeError(f"could not allocate a backup version for {user_id}")

    async def get_version(self, user_id: str, version: int) -> BackupVersion | None:
        """A version, deleted or not."""
        row = await self._db.fetchone(
            f"SELECT {_VERSION_COLUMNS} FROM e2e_room_keys_versions WHERE user_id = ?"
            " AND version = ?", user_id, version)
        return None if row is None else _version(row)

    async def current_version(self, user_id: str) -> BackupVersion | None:
        """The newest version that is not deleted: the one keys may be written to."""
        row = await self._db.fetchone(
            f"SELECT {_VERSION_COLUMNS} FROM e2e_room_keys_versions WHERE user_id = ?"
            " AND deleted = FALSE ORDER BY version DESC LIMIT 1", user_id)
        return None if row is None else _version(row)

    async def lock_version(self, user_id: str, version: int) -> None:
        """Serialize writers of one version's keys until the transaction ends (a no-op
        update takes the row lock on PostgreSQL; SQLite runs one writer anyway)."""
        await self._db.execute(
            "UPDATE e2e_room_keys_versions SET etag = etag WHERE user_id = ? AND version = ?",
            user_id, version)

    async def set_auth_data(self, user_id: str, version: int,
                            auth_data: dict[str, Any]) -> None:
        await self._db.execute(
            "UPDATE e2e_room_keys_versions SET auth_data = ? WHERE user_id = ? AND version = ?",
            json.dumps(auth_data, ensure_ascii=False), user_id, version)

    async def bump_etag(self, user_id: str, version: int) -> int:
        return int(await self._db.fetchval(
            "UPDATE e2e_room_keys_versions SET etag = etag + 1 WHERE user_id = ?"
            " AND version = ? RETURNING etag", user_id, version))

    async def mark_deleted(self, user_id: str, version: int) -> None:
        await self._db.execute(
            "DELETE FROM e2e_room_keys WHERE user_id = ? AND version = ?", user_id, version)
        await self._db.execute(
            "UPDATE e2e_room_keys_versions SET deleted = TRUE WHERE user_id = ? AND version = ?",
            user_id, version)

    # -- keys --------------------------------------------------------------------------

    async def count(self, user_id: str, version: int) -> int:
        return int(await self._db.fetchval(
            "SELECT COUNT(*) FROM e2e_room_keys WHERE user_id = ? AND version = ?",
            user_id, version) or 0)

    async def keys(self, user_id: str, version: int, room_id: str | None = None,
                   session_id: str | None = None) -> list[RoomKey]:
        sql = f"SELECT {_KEY_COLUMNS} FROM e2e_room_keys WHERE user_id = ? AND version = ?"
        args: list[Any] = [user_id, version]
        if room_id is not None:
            sql += " AND room_id = ?"
            args.append(room_id)
        if session_id is not None:
            sql += " AND session_id = ?"
            args.append(session_id)
        rows = await self._db.fetchall(sql + " ORDER BY room_id, session_id", *args)
        return [_room_key(r) for r in rows]

    async def get_key(self, user_id: str, version: int, room_id: str,
                      session_id: str) -> RoomKey | None:
        found = await self.keys(user_id, version, room_id, session_id)
        return found[0] if found else None

    async def put_key(self, user_id: str, version: int, key: RoomKey) -> None:
        await self._db.execute(
            "INSERT INTO e2e_room_keys (user_id, version, room_id, session_id,"
            " first_message_index, forwarded_count, is_verified, session_data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, version, room_id, session_id)"
            " DO UPDATE SET first_message_index = excluded.first_message_index,"
            " forwarded_count = excluded.forwarded_count, is_verified = excluded.is_verified,"
            " session_data = excluded.session_data",
            user_id, version, key.room_id, key.session_id, key.first_message_index,
            key.forwarded_count, key.is_verified,
            json.dumps(key.session_data, ensure_ascii=False))

    async def delete_keys(self, user_id: str, version: int, room_id: str | None = None,
                          session_id: str | None = None) -> int:
        sql = "DELETE FROM e2e_room_keys WHERE user_id = ? AND version = ?"
        args: list[Any] = [user_id, version]
        if room_id is not None:
            sql += " AND room_id = ?"
            args.append(room_id)
        if session_id is not None:
            sql += " AND session_id = ?"
            args.append(session_id)
        return await self._db.execute(sql, *args)
