"""Server signing keys: other servers' keys we fetched (the cache behind request and
event verification and behind our notary answers), and our own retired keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from glia.storage.engine import Executor, Row


@dataclass(frozen=True)
class StoredServerKey:
    server_name: str
    key_id: str
    verify_key: str
    #: Until when the key verifies signatures (an old key's ``expired_ts``).
    valid_until_ts: int
    #: An ``old_verify_keys`` entry: verifies events signed before then, never requests.
    expired: bool
    fetched_ts: int
    #: The signed key response the key came in, canonical JSON.
    key_json: str


@dataclass(frozen=True)
class OwnOldKey:
    key_id: str
    verify_key: str
    expired_ts: int


_COLUMNS = ("server_name, key_id, verify_key, valid_until_ts, expired, fetched_ts,"
            " key_json")


def _key(row: Row) -> StoredServerKey:
    return StoredServerKey(row["server_name"], row["key_id"], row["verify_key"],
                           int(row["valid_until_ts"]), bool(row["expired"]),
                           int(row["fetched_ts"]), row["key_json"])


class ServerKeyStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def put(self, keys: Sequence[StoredServerKey]) -> None:
        """Store fetched keys, replacing what an older fetch said about the same ID. A
        key once seen as expired stays expired (a later answer cannot revive it)."""
        await self._db.executemany(
            f"INSERT INTO server_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (server_name, key_id) DO UPDATE SET"
            " verify_key = excluded.verify_key, valid_until_ts = CASE"
            "  WHEN server_keys.expired AND NOT excluded.expired"
            "  THEN server_keys.valid_until_ts ELSE excluded.valid_until_ts END,"
            " expired = (server_keys.expired OR excluded.expired),"
            " fetched_ts = excluded.fetched_ts, key_json = excluded.key_json",
            [(k.server_name, k.key_id, k.verify_key, k.valid_until_ts, k.expired,
              k.fetched_ts, k.key_json) for k in keys])

    async def of_server(self, server_name: str) -> list[StoredServerKey]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM server_keys WHERE server_name = ? ORDER BY key_id",
            server_name)
        return [_key(r) for r in rows]

    async def get(self, server_name: str, key_id: str) -> StoredServerKey | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM server_keys WHERE server_name = ? AND key_id = ?",
            server_name, key_id)
        return _key(row) if row else None

    async def add_own_old_key(self, key: OwnOldKey) -> None:
        await self._db.execute(
            "INSERT INTO own_old_verify_keys (key_id, verify_key, expired_ts)"
            " VALUES (?, ?, ?) ON CONFLICT (key_id) DO NOTHING",
            key.key_id, key.verify_key, key.expired_ts)

    async def own_old_keys(self) -> list[OwnOldKey]:
        rows = await self._db.fetchall(
            "SELECT key_id, verify_key, expired_ts FROM own_old_verify_keys ORDER BY key_id")
        return [OwnOldKey(r["key_id"], r["verify_key"], int(r["expired_ts"])) for r in rows]
