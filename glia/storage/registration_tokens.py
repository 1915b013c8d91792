"""Registration tokens: the tokens, the uses held by registrations in progress, and which
account registered with which token.

A use is taken with one conditional ``UPDATE`` (the row lock makes two registrations
racing for a token's last use see each other on PostgreSQL; SQLite has one writer), and
every use that is given back is first ``DELETE … RETURNING``-ed, so only the transaction
that removed the reservation adjusts the counter, however many processes sweep at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from glia.storage.engine import Executor, Row

#: The SQL test for "this token can still be used" (one ``now`` parameter).
_VALID = ("(uses_allowed IS NULL OR pending + completed < uses_allowed)"
          " AND (expiry_time IS NULL OR expiry_time > ?)")
_INVALID = ("((uses_allowed IS NOT NULL AND pending + completed >= uses_allowed)"
            " OR (expiry_time IS NOT NULL AND expiry_time <= ?))")
_COLUMNS = "token, uses_allowed, pending, completed, expiry_time"


@dataclass(frozen=True)
class RegistrationToken:
    token: str
    uses_allowed: int | None
    pending: int
    completed: int
    expiry_time: int | None


@dataclass(frozen=True)
class TokenUser:
    user_id: str
    ts: int


def _token(row: Row) -> RegistrationToken:
    return RegistrationToken(
        row["token"], None if row["uses_allowed"] is None else int(row["uses_allowed"]),
        int(row["pending"]), int(row["completed"]),
        None if row["expiry_time"] is None else int(row["expiry_time"]),
    )


class RegistrationTokenStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    # -- the tokens ----------------------------------------------------------------------

    async def create(self, token: str, uses_allowed: int | None, expiry_time: int | None,
                     now: int) -> bool:
        """Insert a new token; False if one with that name already exists."""
        created = await self._db.fetchval(
            "INSERT INTO registration_tokens (token, uses_allowed, pending, completed,"
            " expiry_time, created_ts) VALUES (?, ?, 0, 0, ?, ?)"
            " ON CONFLICT (token) DO NOTHING RETURNING token",
            token, uses_allowed, expiry_time, now,
        )
        return created is not None

    async def get(self, token: str) -> RegistrationToken | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM registration_tokens WHERE token = ?", token)
        return None if row is None else _token(row)

    async def list_tokens(self, valid: bool | None, now: int) -> list[RegistrationToken]:
        """All tokens, oldest first; ``valid`` keeps only the usable (True) or the used-up
        and expired (False) ones."""
        where = ""
        args: list[int] = []
        if valid is not None:
            where = f" WHERE {_VALID if valid else _INVALID}"
            args.append(now)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM registration_tokens{where} ORDER BY created_ts, token",
            *args)
        return [_token(r) for r in rows]

    async def update(self, token: str, changes: dict[str, int | None]
                     ) -> RegistrationToken | None:
        """Set ``uses_allowed`` and/or ``expiry_time``; None if the token is unknown."""
        assert set(changes) <= {"uses_allowed", "expiry_time"}, changes
        assignments = ", ".join(f"{column} = ?" for column in changes)
        row = await self._db.fetchone(
            f"UPDATE registration_tokens SET {assignments} WHERE token = ?"
            f" RETURNING {_COLUMNS}", *changes.values(), token)
        return None if row is None else _token(row)

    async def delete(self, token: str) -> bool:
        """Delete a token (its reservations go with it; who used it stays recorded)."""
        deleted = await self._db.fetchval(
            "DELETE FROM registration_tokens WHERE token = ? RETURNING token", token)
        return deleted is not None

    async def is_valid(self, token: str, now: int) -> bool:
        row = await self._db.fetchone(
            f"SELECT 1 FROM registration_tokens WHERE token = ? AND {_VALID}", token, now)
        return row is not None

    # -- uses held by registrations in progress ------------------------------------------

    async def reserve(self, token: str, session_id: str, now: int) -> str | None:
        """Take one use of a valid token for a UIA session (pending += 1).

        Returns the token the session now holds a use of: ``token`` when the use was just
        taken, or the one an earlier request of the same session took (nothing is taken
        twice). None if the token is unknown, expired or used up. Call inside a
        transaction.
        """
        inserted = await self._db.fetchval(
            "INSERT INTO registration_token_reservations (session_id, token, created_ts)"
            " SELECT CAST(? AS TEXT), token, CAST(? AS BIGINT) FROM registration_tokens"
            " WHERE token = ?"
            " ON CONFLICT (session_id) DO NOTHING RETURNING session_id",
            session_id, now, token)
        if inserted is None:
            return await self.reservation(session_id)
        taken = await self._db.fetchval(
            f"UPDATE registration_tokens SET pending = pending + 1 WHERE token = ?"
            f" AND {_VALID} RETURNING token", token, now)
        if taken is None:
            await self._db.execute(
                "DELETE FROM registration_token_reservations WHERE session_id = ?",
                session_id)
            return None
        return token

    async def reservation(self, session_id: str) -> str | None:
        """The token a UIA session holds a use of, if any."""
        token = await self._db.fetchval(
            "SELECT token FROM registration_token_reservations WHERE session_id = ?",
            session_id)
        return None if token is None else str(token)

    async def _take_reservation(self, session_id: str) -> str | None:
        token = await self._db.fetchval(
            "DELETE FROM registration_token_reservations WHERE session_id = ?"
            " RETURNING token", session_id)
        return None if token is None else str(token)

    async def release(self, session_id: str) -> bool:
        """Give a session's use back (pending -= 1). Call inside a transaction."""
        token = await self._take_reservation(session_id)
        if token is None:
            return False
        await self._db.execute(
            "UPDATE registration_tokens SET pending = pending - 1"
            " WHERE token = ? AND pending > 0", token)
        return True

    async def has_stale(self, created_before: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM registration_token_reservations WHERE created_ts < ? LIMIT 1",
            created_before)
        return row is not None

    async def release_stale(self, created_before: int, limit: int = 1000) -> int:
        """Give back the uses of sessions older than ``created_before``; returns how many.
        Call inside a transaction."""
        rows = await self._db.fetchall(
            "SELECT session_id FROM registration_token_reservations WHERE created_ts < ?"
            " ORDER BY created_ts LIMIT ?", created_before, limit)
        released = 0
        for row in rows:
            released += await self.release(str(row["session_id"]))
        return released

    async def complete(self, session_id: str, user_id: str, now: int) -> str | None:
        """The session's account exists: its use moves from pending to completed and the
        account is recorded against the token. Returns the token, or None if the session
        held no use (the token was deleted meanwhile). Call inside a transaction."""
        token = await self._take_reservation(session_id)
        if token is None:
            return None
        await self._db.execute(
            "UPDATE registration_tokens SET completed = completed + 1,"
            " pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END WHERE token = ?",
            token)
        await self._db.execute(
            "INSERT INTO registration_token_users (user_id, token, ts) VALUES (?, ?, ?)",
            user_id, token, now)
        return token

    # -- provenance ----------------------------------------------------------------------

    async def users(self, token: str, *, offset: int, limit: int, newest_first: bool
                    ) -> tuple[list[TokenUser], int]:
        """The accounts registered with a token, by registration time, and their count."""
        total = await self._db.fetchval(
            "SELECT COUNT(*) FROM registration_token_users WHERE token = ?", token)
        order = "DESC" if newest_first else "ASC"
        rows = await self._db.fetchall(
            "SELECT user_id, ts FROM registration_token_users WHERE token = ?"
            f" ORDER BY ts {order}, user_id {order} LIMIT ? OFFSET ?", token, limit, offset)
        return [TokenUser(r["user_id"], int(r["ts"])) for r in rows], int(total or 0)


__all__ = ["RegistrationToken", "RegistrationTokenStore", "TokenUser"]
