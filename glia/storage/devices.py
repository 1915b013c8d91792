"""Devices and the access tokens that belong to them (one login = one device)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from glia.storage.engine import Executor, Row


@dataclass(frozen=True)
class Device:
    user_id: str
    device_id: str
    display_name: str | None
    created_ts: int
    last_seen_ts: int | None
    last_seen_ip: str | None
    last_seen_user_agent: str | None


@dataclass(frozen=True)
class TokenOwner:
    """Who an access token authenticates, with the account flags checked per request."""

    user_id: str
    device_id: str
    admin: bool
    is_guest: bool
    deactivated: bool
    locked: bool
    #: The admin who holds this token to act as ``user_id`` (impersonation), if any.
    puppeted_by: str | None = None
    #: When the token stops working (ms), if it expires.
    valid_until_ms: int | None = None
    #: For an impersonation token: whether its minter still is an admin in good standing
    #: (exists, admin, not deactivated, locked or suspended). True for ordinary tokens.
    minter_in_good_standing: bool = True
    #: When the account expires (account validity, ms), if it has an expiry.
    account_expires_ms: int | None = None


_DEVICE_COLUMNS = (
    "user_id, device_id, display_name, created_ts, last_seen_ts, last_seen_ip,"
    " last_seen_user_agent"
)


def _device(row: Row) -> Device:
    return Device(
        user_id=row["user_id"],
        device_id=row["device_id"],
        display_name=row["display_name"],
        created_ts=int(row["created_ts"]),
        last_seen_ts=row["last_seen_ts"],
        last_seen_ip=row["last_seen_ip"],
        last_seen_user_agent=row["last_seen_user_agent"],
    )


class DeviceStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def upsert(
        self, user_id: str, device_id: str, display_name: str | None, now: int
    ) -> None:
        """Create the device, or keep it (a login may reuse a known device ID)."""
        await self._db.execute(
            "INSERT INTO devices (user_id, device_id, display_name, created_ts)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, device_id) DO UPDATE SET"
            " display_name = COALESCE(excluded.display_name, devices.display_name)",
            user_id, device_id, display_name, now,
        )

    async def get(self, user_id: str, device_id: str) -> Device | None:
        row = await self._db.fetchone(
            f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE user_id = ? AND device_id = ?",
            user_id, device_id,
        )
        return None if row is None else _device(row)

    async def list(self, user_id: str) -> list[Device]:
        rows = await self._db.fetchall(
            f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE user_id = ? ORDER BY device_id",
            user_id,
        )
        return [_device(r) for r in rows]

    async def set_display_name(self, user_id: str, device_id: str, name: str | None) -> None:
        await self._db.execute(
            "UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?",
            name, user_id, device_id,
        )

    async def delete(self, user_id: str, device_id: str) -> None:
        """Remove a device and every token of it (its address history stays, until
        :meth:`prune_addresses`)."""
        await self._db.execute(
            "DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?", user_id, device_id
        )
        await self._db.execute(
            "DELETE FROM devices WHERE user_id = ? AND device_id = ?", user_id, device_id
        )

    async def record_seen(
        self, user_id: str, device_id: str, ts: int, ip: str | None, user_agent: str | None,
        *, token_hash: str,
    ) -> None:
        """The device's last-seen columns, and the address history row of this token and
        address (the latest user agent and time win)."""
        await self._db.execute(
            "UPDATE devices SET last_seen_ts = ?, last_seen_ip = ?, last_seen_user_agent = ?"
            " WHERE user_id = ? AND device_id = ?",
            ts, ip, user_agent, user_id, device_id,
        )
        if ip is not None:
            await self._db.execute(
                "INSERT INTO user_ips (user_id, token_hash, device_id, ip, user_agent,"
                " last_seen) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id, token_hash, ip) DO UPDATE"
                " SET user_agent = excluded.user_agent, last_seen = excluded.last_seen,"
                " device_id = excluded.device_id",
                user_id, token_hash, device_id, ip, user_agent, ts,
            )

    async def connections(self, user_id: str) -> builtins.list[Row]:
        """Where the user was seen from (whois), newest first: one row per access token
        and address with device_id, ip, user_agent, last_seen — including tokens and
        devices since deleted."""
        return await self._db.fetchall(
            "SELECT device_id, ip, user_agent, last_seen FROM user_ips WHERE user_id = ?"
            " ORDER BY last_seen DESC, ip, device_id", user_id)

    async def prune_addresses(self, seen_before: int) -> int:
        """Forget address history last seen before ``seen_before`` (ms); how many rows."""
        return await self._db.execute_bulk("DELETE FROM user_ips WHERE last_seen < ?",
                                           seen_before)

    # -- access tokens ---------------------------------------------------------------

    async def add_token(self, token_hash: str, user_id: str, device_id: str, now: int, *,
                        puppeted_by: str | None = None,
                        valid_until_ms: int | None = None) -> None:
        await self._db.execute(
            "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts,"
            " puppeted_by, valid_until_ms) VALUES (?, ?, ?, ?, ?, ?)",
            token_hash, user_id, device_id, now, puppeted_by, valid_until_ms,
        )

    async def token_owner(self, token_hash: str) -> TokenOwner | None:
        """The token's owner and, for an impersonation token, its minter's standing: one
        query by primary keys, since it runs on every authenticated request."""
        row = await self._db.fetchone(
            "SELECT t.user_id, t.device_id, u.admin, u.is_guest, u.deactivated, u.locked,"
            " t.puppeted_by, t.valid_until_ms, m.admin AS m_admin,"
            " m.deactivated AS m_deactivated, m.locked AS m_locked,"
            " m.suspended AS m_suspended, v.expiration_ts_ms"
            " FROM access_tokens t JOIN users u ON u.user_id = t.user_id"
            " LEFT JOIN users m ON m.user_id = t.puppeted_by"
            " LEFT JOIN account_validity v ON v.user_id = t.user_id"
            " WHERE t.token_hash = ?",
            token_hash,
        )
        if row is None:
            return None
        minter_ok = row["puppeted_by"] is None or (
            bool(row["m_admin"]) and not row["m_deactivated"] and not row["m_locked"]
            and not row["m_suspended"])
        return TokenOwner(
            row["user_id"], row["device_id"], bool(row["admin"]), bool(row["is_guest"]),
            bool(row["deactivated"]), bool(row["locked"]), row["puppeted_by"],
            None if row["valid_until_ms"] is None else int(row["valid_until_ms"]),
            minter_ok,
            None if row["expiration_ts_ms"] is None else int(row["expiration_ts_ms"]),
        )

    async def delete_token(self, token_hash: str) -> None:
        await self._db.execute("DELETE FROM access_tokens WHERE token_hash = ?", token_hash)

    async def delete_all_for_user(self, user_id: str, except_device: str | None = None) -> None:
        """Log a user out everywhere (optionally keeping one device). Tokens an admin holds
        to act as this user are the admin's, not theirs: they go with the admin's."""
        keep = except_device or ""
        await self._db.execute(
            "DELETE FROM access_tokens WHERE user_id = ? AND device_id <> ?"
            " AND puppeted_by IS NULL", user_id, keep
        )
        await self._db.execute("DELETE FROM access_tokens WHERE puppeted_by = ?", user_id)
        await self._db.execute(
            "DELETE FROM devices WHERE user_id = ? AND device_id <> ?", user_id, keep
        )
