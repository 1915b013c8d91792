"""Accounts: the users table (password hash, admin flag, type, status)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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

    async def erased_among(self, user_ids: Iterable[str]) -> set[str]:
        """Which of ``user_ids`` (the senders of one page of events) have been erased."""
        ids = list(user_ids)
        if not ids:
            return set()
        marks = ", ".join("?" for _ in ids)
        rows = await self._db.fetchall(
            f"SELECT user_id FROM users WHERE erased AND user_id IN ({marks})", *ids)
        return {r["user_id"] for r in rows}

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

    async def guests_among(self, user_ids: Sequence[str]) -> set[str]:
        """Which of these users are guests (a few hundred IDs per query)."""
        out: set[str] = set()
        for at in range(0, len(user_ids), 500):
            batch = user_ids[at:at + 500]
            marks = ", ".join("?" for _ in batch)
            rows = await self._db.fetchall(
                f"SELECT user_id FROM users WHERE is_guest = TRUE AND user_id IN ({marks})",
                *batch)
            out |= {r["user_id"] for r in rows}
        return out

    async def upgrade_guest(self, user_id: str, password_hash: str) -> bool:
        """Make a guest account a full one with this password; False if it is no guest."""
        return await self._db.fetchval(
            "UPDATE users SET password_hash = ?, is_guest = FALSE WHERE user_id = ?"
            " AND is_guest = TRUE RETURNING user_id", password_hash, user_id) is not None

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


@dataclass(frozen=True)
class UserListQuery:
    """The filters of Synapse's admin user list."""

    user_id: str | None = None
    name: str | None = None
    guests: bool = True
    #: True: only deactivated; False: only active; None: both.
    deactivated: bool | None = False
    admins: bool | None = None
    include_locked: bool = False
    not_user_types: tuple[str, ...] = ()
    order_by: str = "name"
    backwards: bool = False
    #: An account never listed (the server-notices sender, which Synapse has no row for).
    hidden_user_id: str | None = None


@dataclass(frozen=True)
class AdminUserView:
    user_id: str
    displayname: str | None
    avatar_url: str | None
    admin: bool
    user_type: str | None
    is_guest: bool
    deactivated: bool
    locked: bool
    erased: bool
    shadow_banned: bool
    suspended: bool
    creation_ts: int
    last_seen_ts: int | None


#: As Synapse: the devices' latest, else the address history's (it outlives devices).
_LAST_SEEN = ("COALESCE((SELECT MAX(d.last_seen_ts) FROM devices d WHERE d.user_id = u.user_id),"
              " (SELECT MAX(i.last_seen) FROM user_ips i WHERE i.user_id = u.user_id))")

#: order_by values → SQL expressions (secondary order is always the user ID).
#: The nullable ones (see ``_NULLABLE``) sort NULL as the smallest value on both engines.
USER_ORDER = {
    "name": "u.user_id", "displayname": "p.displayname", "is_guest": "u.is_guest",
    "admin": "u.admin", "deactivated": "u.deactivated", "user_type": "u.user_type",
    "avatar_url": "p.avatar_url", "shadow_banned": "u.shadow_banned",
    "creation_ts": "u.creation_ts", "last_seen_ts": _LAST_SEEN, "locked": "u.locked",
}

_NULLABLE = {"displayname", "user_type", "avatar_url", "last_seen_ts"}

_SELECT = (
    "SELECT u.user_id, u.admin, u.user_type, u.is_guest, u.deactivated, u.locked, u.erased,"
    " u.shadow_banned, u.suspended, u.creation_ts, p.displayname, p.avatar_url,"
    f" {_LAST_SEEN} AS last_seen_ts"
)
_FROM = " FROM users u LEFT JOIN profiles p ON p.user_id = u.user_id"
_VIEW = _SELECT + _FROM


def _view(row: Row) -> AdminUserView:
    return AdminUserView(
        row["user_id"], row["displayname"], row["avatar_url"], bool(row["admin"]),
        row["user_type"], bool(row["is_guest"]), bool(row["deactivated"]),
        bool(row["locked"]), bool(row["erased"]), bool(row["shadow_banned"]),
        bool(row["suspended"]), int(row["creation_ts"]),
        None if row["last_seen_ts"] is None else int(row["last_seen_ts"]),
    )


def like_pattern(term: str) -> str:
    """``term`` as a literal inside a LIKE pattern (``\\`` is the escape character)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class AdminUserStore:
    """The admin API's reads and writes of accounts (lists, flags, 3PIDs, SSO IDs)."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def view(self, user_id: str) -> AdminUserView | None:
        row = await self._db.fetchone(f"{_VIEW} WHERE u.user_id = ?", user_id)
        return None if row is None else _view(row)

    async def page(self, query: UserListQuery, offset: int, limit: int
                   ) -> tuple[list[AdminUserView], int]:
        # Every condition reads ``users`` alone, so counts need no join with profiles.
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        # A substring search scans the user IDs (and display names) as narrow lists of
        # their own, not row by row through the join of users and profiles; see below.
        matched: str | None = None
        if query.name:
            term = like_pattern(query.name.lower())
            matched = ("SELECT user_id FROM users WHERE lower(user_id) LIKE ? ESCAPE '\\'"
                       " UNION SELECT user_id FROM profiles"
                       " WHERE lower(displayname) LIKE ? ESCAPE '\\'")
            args += [f"@%{term}%:%", f"%{term}%"]
        elif query.user_id:
            matched = "SELECT user_id FROM users WHERE lower(user_id) LIKE ? ESCAPE '\\'"
            args.append(f"%{like_pattern(query.user_id.lower())}%")
        if matched is not None:
            where.append(f"u.user_id IN ({matched})")
        if query.hidden_user_id is not None:
            where.append("u.user_id <> ?")
            args.append(query.hidden_user_id)
        if not query.guests:
            where.append("u.is_guest = FALSE")
        if query.deactivated is not None:
            where.append("u.deactivated = ?")
            args.append(query.deactivated)
        if query.admins is not None:
            where.append("u.admin = ?")
            args.append(query.admins)
        if not query.include_locked:
            where.append("u.locked = FALSE")
        for user_type in query.not_user_types:
            if user_type == "":
                where.append("u.user_type IS NOT NULL")
            else:
                where.append("(u.user_type IS NULL OR u.user_type <> ?)")
                args.append(user_type)
        clause = " AND ".join(where)
        direction = "DESC" if query.backwards else "ASC"
        expression = USER_ORDER[query.order_by]
        order = f"{expression} {direction}"
        if query.order_by in _NULLABLE:
            # SQLite puts NULLs first, PostgreSQL last; say which, so both agree.
            order = f"CASE WHEN {expression} IS NULL THEN 0 ELSE 1 END {direction}, {order}"
        secondary = "" if query.order_by == "name" else ", u.user_id ASC"
        ordered = f"ORDER BY {order}{secondary} LIMIT ? OFFSET ?"
        if matched is None:
            # No search: the page walks the user ID index; the count is one more scan.
            total = await self._db.fetchval(f"SELECT COUNT(*) FROM users u WHERE {clause}",
                                            *args)
            rows = await self._db.fetchall(f"{_VIEW} WHERE {clause} {ordered}",
                                           *args, limit, offset)
            return [_view(r) for r in rows], int(total or 0)
        # A search: the matching accounts are found once (both engines materialise a
        # CTE used twice) and give both the page and the total in one statement.
        rows = await self._db.fetchall(
            f"WITH hits AS (SELECT u.user_id FROM users u WHERE {clause})"
            f" {_SELECT}, (SELECT COUNT(*) FROM hits) AS total{_FROM}"
            f" WHERE u.user_id IN (SELECT user_id FROM hits) {ordered}",
            *args, limit, offset)
        if rows:
            total = rows[0]["total"]
        else:  # a page past the end: only the count
            total = await self._db.fetchval(
                f"SELECT COUNT(*) FROM users u WHERE {clause}", *args)
        return [_view(r) for r in rows], int(total or 0)

    async def search_names(self, term: str) -> list[Row]:
        """Accounts whose user ID contains ``term`` (Synapse's legacy ``search_users``):
        name, is_guest, admin, user_type, by user ID."""
        return await self._db.fetchall(
            "SELECT user_id AS name, is_guest, admin, user_type FROM users"
            " WHERE lower(user_id) LIKE ? ESCAPE '\\' ORDER BY user_id",
            f"%{like_pattern(term.lower())}%")

    async def set_flag(self, user_id: str, flag: str, value: bool) -> None:
        if flag not in ("erased", "shadow_banned", "suspended"):
            raise ValueError(flag)
        await self._db.execute(f"UPDATE users SET {flag} = ? WHERE user_id = ?", value, user_id)

    async def restrictions(self, user_id: str) -> tuple[bool, bool]:
        """(suspended, shadow_banned) of an account; both False for unknown users."""
        row = await self._db.fetchone(
            "SELECT suspended, shadow_banned FROM users WHERE user_id = ?", user_id)
        if row is None:
            return False, False
        return bool(row["suspended"]), bool(row["shadow_banned"])

    async def threepid_owner(self, medium: str, address: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT user_id FROM user_threepids WHERE medium = ? AND address = ?",
            medium, address)
        return None if value is None else str(value)

    async def events_to_redact(self, user_id: str, room_id: str, limit: int,
                               after_ts: int | None, before_ts: int | None) -> list[str]:
        """The user-redaction job's work in one room: of the user's ``limit`` newest
        messages, encrypted events and own joins, those not redacted yet, newest first."""
        where = ["e.room_id = ?", "e.sender = ?",
                 "e.type IN ('m.room.message', 'm.room.encrypted', 'm.room.member')",
                 "(e.type <> 'm.room.member' OR (e.state_key = e.sender AND EXISTS ("
                 "SELECT 1 FROM room_state s WHERE s.room_id = e.room_id"
                 " AND s.from_stream = e.stream_ordering AND s.event_id = e.event_id"
                 " AND s.membership = 'join')))"]
        args: list[Any] = [room_id, user_id]
        if after_ts is not None:
            where.append("e.origin_server_ts >= ?")
            args.append(after_ts)
        if before_ts is not None:
            where.append("e.origin_server_ts <= ?")
            args.append(before_ts)
        rows = await self._db.fetchall(
            f"SELECT e.event_id, e.redacted_by FROM events e WHERE {' AND '.join(where)}"
            " ORDER BY e.stream_ordering DESC LIMIT ?", *args, limit)
        return [r["event_id"] for r in rows if r["redacted_by"] is None]

    async def threepids(self, user_id: str) -> list[Row]:
        return await self._db.fetchall(
            "SELECT medium, address, added_at, validated_at FROM user_threepids"
            " WHERE user_id = ? ORDER BY medium, address", user_id)

    async def replace_threepids(self, user_id: str, threepids: list[tuple[str, str]],
                                now: int) -> None:
        await self._db.execute("DELETE FROM user_threepids WHERE user_id = ?", user_id)
        for medium, address in threepids:
            await self._db.execute(
                "INSERT INTO user_threepids (user_id, medium, address, added_at, validated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (medium, address) DO UPDATE"
                " SET user_id = excluded.user_id", user_id, medium, address, now, now)

    async def external_ids(self, user_id: str) -> list[Row]:
        return await self._db.fetchall(
            "SELECT auth_provider, external_id FROM user_external_ids WHERE user_id = ?"
            " ORDER BY auth_provider, external_id", user_id)

    async def external_id_owner(self, auth_provider: str, external_id: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT user_id FROM user_external_ids WHERE auth_provider = ?"
            " AND external_id = ?", auth_provider, external_id)
        return None if value is None else str(value)

    async def replace_external_ids(self, user_id: str, ids: list[tuple[str, str]]) -> None:
        await self._db.execute("DELETE FROM user_external_ids WHERE user_id = ?", user_id)
        for provider, external_id in ids:
            await self._db.execute(
                "INSERT INTO user_external_ids (auth_provider, external_id, user_id)"
                " VALUES (?, ?, ?)", provider, external_id, user_id)

    async def delete_threepids(self, user_id: str) -> None:
        await self._db.execute("DELETE FROM user_threepids WHERE user_id = ?", user_id)
