"""The user directory: users' public profiles by search terms, and the public rooms.

Terms are cut and normalised in Python by the search index's rules
(``glia.storage.search.terms``: case-folded, diacritics dropped), so both engines match
the same way. A search term matches a user when it begins one of the user's terms; a
search of several terms needs all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor
from glia.storage.search import terms

__all__ = ["DirectoryEntry", "UserDirectoryStore", "search_text"]


@dataclass(frozen=True)
class DirectoryEntry:
    user_id: str
    display_name: str | None
    avatar_url: str | None


def search_text(user_id: str, display_name: str | None) -> str:
    """What ``user_directory.search_text`` holds for a user."""
    return " " + "".join(t + " " for t in terms(f"{user_id} {display_name or ''}"))


def _joined(alias: str = "") -> str:
    """The ``room_state`` row (of ``alias``) is a membership joined now."""
    a = f"{alias}." if alias else ""
    return f"{a}type = 'm.room.member' AND {a}membership = 'join' AND {a}to_stream IS NULL"


class UserDirectoryStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def upsert(self, entry: DirectoryEntry) -> None:
        await self._db.execute(
            "INSERT INTO user_directory (user_id, display_name, avatar_url, search_text)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " display_name = excluded.display_name, avatar_url = excluded.avatar_url,"
            " search_text = excluded.search_text",
            entry.user_id, entry.display_name, entry.avatar_url,
            search_text(entry.user_id, entry.display_name))

    async def add_if_absent(self, user_id: str) -> None:
        """An entry with no profile, unless the user has one already."""
        await self._db.execute(
            "INSERT INTO user_directory (user_id, display_name, avatar_url, search_text)"
            " VALUES (?, NULL, NULL, ?) ON CONFLICT (user_id) DO NOTHING",
            user_id, search_text(user_id, None))

    async def remove(self, user_id: str) -> None:
        await self._db.execute("DELETE FROM user_directory WHERE user_id = ?", user_id)

    async def set_room_public(self, room_id: str, public: bool) -> None:
        if public:
            await self._db.execute(
                "INSERT INTO user_directory_public_rooms (room_id) VALUES (?)"
                " ON CONFLICT (room_id) DO NOTHING", room_id)
        else:
            await self._db.execute(
                "DELETE FROM user_directory_public_rooms WHERE room_id = ?", room_id)

    async def public_room_ids(self) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT room_id FROM user_directory_public_rooms ORDER BY room_id")
        return [r["room_id"] for r in rows]

    async def is_joined_anywhere(self, user_id: str) -> bool:
        return await self._db.fetchval(
            f"SELECT 1 FROM room_state WHERE state_key = ? AND {_joined()} LIMIT 1",
            user_id) is not None

    async def remote_members(self, server_suffix: str, after: str, limit: int
                             ) -> list[tuple[str, str | None]]:
        """Joined users of other servers (user ID after ``after``), each with the event
        ID of one of their joins to a public room (None: joined to private rooms only),
        for a rebuild."""
        rows = await self._db.fetchall(
            "SELECT s.state_key, MAX(CASE WHEN p.room_id IS NOT NULL THEN s.event_id END)"
            " AS event_id FROM room_state s LEFT JOIN user_directory_public_rooms p"
            f" ON p.room_id = s.room_id WHERE {_joined('s')} AND s.state_key > ?"
            " AND s.state_key NOT LIKE ? GROUP BY s.state_key ORDER BY s.state_key LIMIT ?",
            after, "%" + server_suffix, limit)
        return [(r["state_key"], r["event_id"]) for r in rows]

    async def remove_remote_absent(self, server_suffix: str) -> int:
        """Drop the entries of other servers' users who are joined to no room now."""
        return await self._db.execute(
            "DELETE FROM user_directory WHERE user_id NOT LIKE ? AND NOT EXISTS"
            f" (SELECT 1 FROM room_state WHERE state_key = user_directory.user_id"
            f" AND {_joined()})", "%" + server_suffix)

    async def search(self, searcher: str, words: Sequence[str], all_users: bool,
                     limit: int) -> list[DirectoryEntry]:
        """Up to ``limit`` entries whose terms begin with each of ``words``, among the
        users the searcher may find: users joined to a public room or to a room the
        searcher is joined to (with ``all_users``: everyone). Deactivated and support
        accounts are left out. Users with a display name come first, then by user ID."""
        where = ["(u.user_id IS NULL OR (u.deactivated = FALSE"
                 " AND (u.user_type IS NULL OR u.user_type != 'support')))"]
        args: list[Any] = []
        for word in words:
            where.append("d.search_text LIKE ?")
            args.append(f"% {word}%")
        if not all_users:
            where.append(
                "(EXISTS (SELECT 1 FROM room_state m JOIN user_directory_public_rooms p"
                f" ON p.room_id = m.room_id WHERE m.state_key = d.user_id"
                f" AND {_joined('m')})"
                " OR EXISTS (SELECT 1 FROM room_state m JOIN room_state s"
                " ON s.room_id = m.room_id WHERE m.state_key = d.user_id"
                f" AND {_joined('m')}"
                f" AND s.state_key = ? AND {_joined('s')}))")
            args.append(searcher)
        rows = await self._db.fetchall(
            "SELECT d.user_id, d.display_name, d.avatar_url FROM user_directory d"
            " LEFT JOIN users u ON u.user_id = d.user_id"
            f" WHERE {' AND '.join(where)}"
            " ORDER BY CASE WHEN d.display_name IS NULL THEN 1 ELSE 0 END, d.user_id"
            " LIMIT ?", *args, limit)
        return [DirectoryEntry(r["user_id"], r["display_name"], r["avatar_url"])
                for r in rows]

    async def local_profiles(self, server_suffix: str, after: str, limit: int
                             ) -> list[DirectoryEntry]:
        """This server's users (user ID after ``after``) with their profiles, for a
        rebuild."""
        rows = await self._db.fetchall(
            "SELECT u.user_id, p.displayname, p.avatar_url FROM users u"
            " LEFT JOIN profiles p ON p.user_id = u.user_id"
            " WHERE u.user_id > ? AND u.user_id LIKE ? ORDER BY u.user_id LIMIT ?",
            after, "%" + server_suffix, limit)
        return [DirectoryEntry(r["user_id"], r["displayname"], r["avatar_url"])
                for r in rows]

    async def room_ids(self, after: str, limit: int) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT room_id FROM rooms WHERE room_id > ? ORDER BY room_id LIMIT ?",
            after, limit)
        return [r["room_id"] for r in rows]
