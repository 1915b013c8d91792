"""Per-user profile: display name and avatar URL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from glia.storage.engine import Executor

#: Users looked up per query (each a bound parameter).
_USERS_PER_QUERY = 500


@dataclass(frozen=True)
class Profile:
    displayname: str | None
    avatar_url: str | None


class ProfileStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def get(self, user_id: str) -> Profile | None:
        row = await self._db.fetchone(
            "SELECT displayname, avatar_url FROM profiles WHERE user_id = ?", user_id
        )
        return None if row is None else Profile(row["displayname"], row["avatar_url"])

    async def get_many(self, user_ids: Sequence[str]) -> dict[str, Profile]:
        """The profiles of those of ``user_ids`` who have one."""
        out: dict[str, Profile] = {}
        wanted = sorted(set(user_ids))
        for i in range(0, len(wanted), _USERS_PER_QUERY):
            chunk = wanted[i:i + _USERS_PER_QUERY]
            rows = await self._db.fetchall(
                "SELECT user_id, displayname, avatar_url FROM profiles"
                f" WHERE user_id IN ({', '.join('?' for _ in chunk)})", *chunk)
            out.update({r["user_id"]: Profile(r["displayname"], r["avatar_url"])
                        for r in rows})
        return out

    async def create(self, user_id: str, displayname: str | None) -> None:
        await self._db.execute(
            "INSERT INTO profiles (user_id, displayname, avatar_url) VALUES (?, ?, NULL)",
            user_id, displayname,
        )

    async def set_displayname(self, user_id: str, displayname: str | None) -> None:
        await self._db.execute(
            "UPDATE profiles SET displayname = ? WHERE user_id = ?", displayname, user_id
        )

    async def set_avatar_url(self, user_id: str, avatar_url: str | None) -> None:
        await self._db.execute(
            "UPDATE profiles SET avatar_url = ? WHERE user_id = ?", avatar_url, user_id
        )
