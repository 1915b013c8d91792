"""Registration state shared by every process: shared-secret nonces."""

from __future__ import annotations

from glia.storage.engine import Executor


class RegistrationStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def add_nonce(self, nonce: str, now: int) -> None:
        await self._db.execute(
            "INSERT INTO registration_nonces (nonce, created_ts) VALUES (?, ?)", nonce, now
        )

    async def take_nonce(self, nonce: str, not_before: int) -> bool:
        """Consume a nonce; True if it existed and was younger than ``not_before``."""
        created = await self._db.fetchval(
            "DELETE FROM registration_nonces WHERE nonce = ? RETURNING created_ts", nonce
        )
        return created is not None and int(created) >= not_before

    async def sweep_nonces(self, older_than: int) -> None:
        await self._db.execute(
            "DELETE FROM registration_nonces WHERE created_ts < ?", older_than
        )
