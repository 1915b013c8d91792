"""Accounts: the users table (password hash, admin flag, type, status)."""

from __future__ import annotations

from dataclasses import dataclass

from glia.storage.engine import Executor, Row


@dataclass(frozen=True)
class User:
    user_id: str
    password_hash: str | None
    admin: bool
    user_type: str | None
    is_guest: bool
    deactivated: bool
    locked: bool
    creation_ts: int


_COLUMNS = "user_id, password_hash, admin, user_type, is_guest, deactivated, locked, creation_ts"


def _user(row: Row) -> User:
    return User(
        user_id=row["user_id"],
        password_hash=row["password_hash"],
        admin=bool(row["admin"]),
        user_type=row["user_type"],
        is_guest=bool(row["is_guest"]),
        deactivated=bool(row["deactivated"]),
        locked=bool(row["locked"]),
        creation_ts=int(row["creation_ts"]),
    )


class UserStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def get(self, user_id: str) -> User | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM users WHERE user_id = ?", user_id)
        return None if row is None else _user(row)

    async def exists_case_insensitive(self, user_id: str) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM users WHERE lower(user_id) = lower(?)", user_id
        )
        return row is not None

    async def create(
        self,
        user_id: str,
        password_hash: str | None,
        *,
        admin: bool,
        user_type: str | None,
        creation_ts: int,
        is_guest: bool = False,
    ) -> User:
        await self._db.execute(
            "INSERT INTO users (user_id, password_hash, admin, user_type, is_guest,"
            " deactivated, locked, creation_ts) VALUES (?, ?, ?, ?, ?, FALSE, FALSE, ?)",
            user_id, password_hash, admin, user_type, is_guest, creation_ts,
        )
        return User(user_id, password_hash, admin, user_type, is_guest, False, False, creation_ts)

    async def set_password_hash(self, user_id: str, password_hash: str | None) -> None:
        await self._db.execute(
            "UPDATE users SET password_hash = ? WHERE user_id = ?", password_hash, user_id
        )

    async def set_admin(self, user_id: str, admin: bool) -> None:
        await self._db.execute("UPDATE users SET admin = ? WHERE user_id = ?", admin, user_id)

    async def set_deactivated(self, user_id: str, deactivated: bool) -> None:
        await self._db.execute(
            "UPDATE users SET deactivated = ? WHERE user_id = ?", deactivated, user_id
        )

    async def set_locked(self, user_id: str, locked: bool) -> None:
        await self._db.execute("UPDATE users SET locked = ? WHERE user_id = ?", locked, user_id)

    async def set_user_type(self, user_id: str, user_type: str | None) -> None:
        await self._db.execute(
            "UPDATE users SET user_type = ? WHERE user_id = ?", user_type, user_id
        )
