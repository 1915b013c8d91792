"""Per-user profile: display name and avatar URL."""

from __future__ import annotations

from dataclasses import dataclass

from glia.storage.engine import Executor


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
