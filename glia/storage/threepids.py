"""3PIDs: validation sessions, the addresses on accounts, and identity-server bindings.

The ``user_threepids`` rows are also read by the admin API (``AdminUserStore``); this
store adds and removes single addresses for the client API.
"""

from __future__ import annotations

from dataclasses import dataclass

from glia.storage.engine import Executor, Row

__all__ = ["ThreepidSession", "ThreepidStore"]


@dataclass(frozen=True)
class ThreepidSession:
    session_id: str
    client_secret: str
    medium: str
    address: str
    purpose: str
    last_send_attempt: int
    token: str
    next_link: str | None
    expires_ts: int
    validated_ts: int | None


def _session(row: Row) -> ThreepidSession:
    return ThreepidSession(row["session_id"], row["client_secret"], row["medium"],
                           row["address"], row["purpose"], int(row["last_send_attempt"]),
                           row["token"], row["next_link"], int(row["expires_ts"]),
                           None if row["validated_ts"] is None else int(row["validated_ts"]))


_COLUMNS = ("session_id, client_secret, medium, address, purpose, last_send_attempt, token,"
            " next_link, expires_ts, validated_ts")


class ThreepidStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    # -- validation sessions ---------------------------------------------------------

    async def session_for_request(self, client_secret: str, medium: str, address: str,
                                  purpose: str) -> ThreepidSession | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM threepid_sessions WHERE client_secret = ?"
            " AND medium = ? AND address = ? AND purpose = ?",
            client_secret, medium, address, purpose)
        return None if row is None else _session(row)

    async def session(self, session_id: str) -> ThreepidSession | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM threepid_sessions WHERE session_id = ?", session_id)
        return None if row is None else _session(row)

    async def save_session(self, s: ThreepidSession, now: int) -> None:
        """Create the session, or replace the one of the same request (a new send)."""
        await self._db.execute(
            "DELETE FROM threepid_sessions WHERE client_secret = ? AND medium = ?"
            " AND address = ? AND purpose = ?", s.client_secret, s.medium, s.address,
            s.purpose)
        await self._db.execute(
            f"INSERT INTO threepid_sessions ({_COLUMNS}, created_ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", s.session_id, s.client_secret,
            s.medium, s.address, s.purpose, s.last_send_attempt, s.token, s.next_link,
            s.expires_ts, s.validated_ts, now)

    async def mark_validated(self, session_id: str, now: int) -> None:
        await self._db.execute(
            "UPDATE threepid_sessions SET validated_ts = ? WHERE session_id = ?"
            " AND validated_ts IS NULL", now, session_id)

    async def delete_session(self, session_id: str) -> None:
        await self._db.execute("DELETE FROM threepid_sessions WHERE session_id = ?",
                               session_id)

    async def delete_expired(self, now: int) -> None:
        await self._db.execute("DELETE FROM threepid_sessions WHERE expires_ts <= ?", now)

    # -- addresses on accounts --------------------------------------------------------

    async def owner(self, medium: str, address: str) -> str | None:
        owner = await self._db.fetchval(
            "SELECT user_id FROM user_threepids WHERE medium = ? AND address = ?",
            medium, address)
        return None if owner is None else str(owner)

    async def add(self, user_id: str, medium: str, address: str, validated_at: int,
                  now: int) -> None:
        await self._db.execute(
            "INSERT INTO user_threepids (user_id, medium, address, added_at, validated_at)"
            " VALUES (?, ?, ?, ?, ?)", user_id, medium, address, now, validated_at)

    async def remove(self, user_id: str, medium: str, address: str) -> bool:
        return await self._db.execute(
            "DELETE FROM user_threepids WHERE user_id = ? AND medium = ? AND address = ?",
            user_id, medium, address) > 0

    # -- identity-server bindings -----------------------------------------------------

    async def add_binding(self, user_id: str, medium: str, address: str,
                          id_server: str) -> None:
        await self._db.execute(
            "INSERT INTO threepid_bindings (user_id, medium, address, id_server)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, medium, address, id_server)"
            " DO NOTHING", user_id, medium, address, id_server)

    async def bindings(self, user_id: str, medium: str, address: str) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT id_server FROM threepid_bindings WHERE user_id = ? AND medium = ?"
            " AND address = ? ORDER BY id_server", user_id, medium, address)
        return [r["id_server"] for r in rows]

    async def bound_threepids(self, user_id: str) -> list[tuple[str, str]]:
        """Every (medium, address) of the user bound at some identity server."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT medium, address FROM threepid_bindings WHERE user_id = ?"
            " ORDER BY medium, address", user_id)
        return [(r["medium"], r["address"]) for r in rows]

    async def remove_binding(self, user_id: str, medium: str, address: str,
                             id_server: str) -> None:
        await self._db.execute(
            "DELETE FROM threepid_bindings WHERE user_id = ? AND medium = ? AND address = ?"
            " AND id_server = ?", user_id, medium, address, id_server)
