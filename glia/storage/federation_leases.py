"""Leases on destinations for the federation sender: one process at a time sends to a
destination (see ``0040_federation_sender_leases.sql``)."""

from __future__ import annotations

from glia.storage.engine import Executor


class FederationLeaseStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def take(self, destination: str, holder: str, now: int, expires_ts: int) -> bool:
        """Take or renew the lease: True if ``holder`` has it now (it had it, nobody
        did, or the last holder's expired). One statement, so two processes racing for
        a free lease cannot both win."""
        row = await self._db.fetchone(
            "INSERT INTO federation_sender_leases (destination, holder, expires_ts)"
            " VALUES (?, ?, ?) ON CONFLICT (destination) DO UPDATE SET"
            " holder = excluded.holder, expires_ts = excluded.expires_ts"
            " WHERE federation_sender_leases.holder = excluded.holder"
            " OR federation_sender_leases.expires_ts < ? RETURNING holder",
            destination, holder, expires_ts, now)
        return row is not None

    async def give_up(self, destination: str, holder: str) -> None:
        await self._db.execute(
            "DELETE FROM federation_sender_leases WHERE destination = ? AND holder = ?",
            destination, holder)

    async def holder(self, destination: str, now: int) -> str | None:
        """Who holds an unexpired lease on ``destination``."""
        holder = await self._db.fetchval(
            "SELECT holder FROM federation_sender_leases WHERE destination = ?"
            " AND expires_ts >= ?", destination, now)
        return None if holder is None else str(holder)
