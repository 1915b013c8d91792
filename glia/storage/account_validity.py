"""When each account expires (account validity), its renewal notice and renewal token."""

from __future__ import annotations

from dataclasses import dataclass

from glia.storage.engine import Executor


@dataclass(frozen=True)
class Validity:
    user_id: str
    expiration_ts_ms: int
    renewal_notice_sent: bool
    renewal_token: str | None
    token_used_ts_ms: int | None


class AccountValidityStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def set_expiration(self, user_id: str, expiration_ts_ms: int,
                             renewal_notice_sent: bool) -> None:
        """Set the account's expiry (a renewal); the renewal token is kept, so a second
        click on an already used link still finds it."""
        await self._db.execute(
            "INSERT INTO account_validity (user_id, expiration_ts_ms, renewal_notice_sent)"
            " VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " expiration_ts_ms = excluded.expiration_ts_ms,"
            " renewal_notice_sent = excluded.renewal_notice_sent",
            user_id, expiration_ts_ms, renewal_notice_sent)

    async def get(self, user_id: str) -> Validity | None:
        row = await self._db.fetchone(
            "SELECT user_id, expiration_ts_ms, renewal_notice_sent, renewal_token,"
            " token_used_ts_ms FROM account_validity WHERE user_id = ?", user_id)
        if row is None:
            return None
        used = row["token_used_ts_ms"]
        return Validity(row["user_id"], int(row["expiration_ts_ms"]),
                        bool(row["renewal_notice_sent"]), row["renewal_token"],
                        None if used is None else int(used))

    async def by_token(self, token: str) -> Validity | None:
        user_id = await self._db.fetchval(
            "SELECT user_id FROM account_validity WHERE renewal_token = ?", token)
        return None if user_id is None else await self.get(user_id)

    async def due_for_notice(self, expiring_before: int, limit: int) -> list[str]:
        """Active accounts expiring before the given time whose notice has not gone out."""
        rows = await self._db.fetchall(
            "SELECT v.user_id FROM account_validity v JOIN users u ON u.user_id = v.user_id"
            " WHERE v.expiration_ts_ms < ? AND NOT v.renewal_notice_sent"
            " AND NOT u.deactivated ORDER BY v.expiration_ts_ms, v.user_id LIMIT ?",
            expiring_before, limit)
        return [r["user_id"] for r in rows]

    async def set_notice_sent(self, user_id: str, token: str) -> None:
        await self._db.execute(
            "UPDATE account_validity SET renewal_notice_sent = TRUE, renewal_token = ?,"
            " token_used_ts_ms = NULL WHERE user_id = ?", token, user_id)

    async def use_token(self, user_id: str, now: int) -> None:
        await self._db.execute(
            "UPDATE account_validity SET token_used_ts_ms = ? WHERE user_id = ?", now, user_id)
