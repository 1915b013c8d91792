"""Per-account failed-password state (see ``services/login_attempts``)."""

from __future__ import annotations

from dataclasses import dataclass

from glia.storage.engine import Executor


@dataclass(frozen=True)
class FailedLoginState:
    tokens: float
    updated_ms: int
    strikes: int
    blocked_until_ms: int
    expires_ms: int
    #: Bumped by every write; an update names the version it read (compare-and-swap).
    version: int


class FailedLoginStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def get(self, user_id: str) -> FailedLoginState | None:
        row = await self._db.fetchone(
            "SELECT tokens, updated_ms, strikes, blocked_until_ms, expires_ms, version"
            " FROM failed_logins WHERE user_id = ?", user_id)
        if row is None:
            return None
        return FailedLoginState(float(row["tokens"]), int(row["updated_ms"]),
                                int(row["strikes"]), int(row["blocked_until_ms"]),
                                int(row["expires_ms"]), int(row["version"]))

    async def insert(self, user_id: str, state: FailedLoginState) -> bool:
        """Create the account's row; False if another request created it first."""
        changed = await self._db.execute(
            "INSERT INTO failed_logins (user_id, tokens, updated_ms, strikes,"
            " blocked_until_ms, expires_ms, version) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO NOTHING",
            user_id, state.tokens, state.updated_ms, state.strikes, state.blocked_until_ms,
            state.expires_ms, state.version)
        return changed == 1

    async def replace(self, user_id: str, state: FailedLoginState, read_version: int) -> bool:
        """Write ``state`` if the row still has ``read_version``; False if it moved on."""
        changed = await self._db.execute(
            "UPDATE failed_logins SET tokens = ?, updated_ms = ?, strikes = ?,"
            " blocked_until_ms = ?, expires_ms = ?, version = ?"
            " WHERE user_id = ? AND version = ?",
            state.tokens, state.updated_ms, state.strikes, state.blocked_until_ms,
            state.expires_ms, state.version, user_id, read_version)
        return changed == 1

    async def delete(self, user_id: str) -> None:
        await self._db.execute("DELETE FROM failed_logins WHERE user_id = ?", user_id)

    async def sweep(self, now_ms: int) -> None:
        """Forget accounts whose state has expired (keeps the table small)."""
        await self._db.execute("DELETE FROM failed_logins WHERE expires_ms < ?", now_ms)
