"""OpenID tokens, by the SHA-256 of the token."""

from __future__ import annotations

from glia.storage.engine import Executor


class OpenIdStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def add(self, token_hash: str, user_id: str, expires_ts: int, now: int) -> None:
        """Store a new token, and drop the expired ones while at it."""
        await self._db.execute("DELETE FROM openid_tokens WHERE expires_ts < ?", now)
        await self._db.execute(
            "INSERT INTO openid_tokens (token_hash, user_id, expires_ts) VALUES (?, ?, ?)",
            token_hash, user_id, expires_ts)

    async def owner(self, token_hash: str, now: int) -> str | None:
        """The user of a token that has not expired."""
        value = await self._db.fetchval(
            "SELECT user_id FROM openid_tokens WHERE token_hash = ? AND expires_ts >= ?",
            token_hash, now)
        return None if value is None else str(value)
