"""Account data, global (``room_id`` ``''``) and per room, with the stream position of
each type's last change."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor

GLOBAL = ""


@dataclass(frozen=True)
class AccountData:
    room_id: str
    type: str
    content: dict[str, Any]
    stream: int


class AccountDataStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def put(self, user_id: str, room_id: str, data_type: str,
                  content: dict[str, Any], stream: int) -> None:
        await self._db.execute(
            "INSERT INTO account_data (user_id, room_id, type, content, stream)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, room_id, type)"
            " DO UPDATE SET content = excluded.content, stream = excluded.stream",
            user_id, room_id, data_type, json.dumps(content, separators=(",", ":")), stream)

    async def get(self, user_id: str, room_id: str, data_type: str) -> dict[str, Any] | None:
        text = await self._db.fetchval(
            "SELECT content FROM account_data WHERE user_id = ? AND room_id = ? AND type = ?",
            user_id, room_id, data_type)
        return None if text is None else dict(json.loads(text))

    async def changed(self, user_id: str, since: int | None, upto: int) -> list[AccountData]:
        """Everything the user has (``since`` None) or what changed in (since, upto]."""
        rows = await self._db.fetchall(
            "SELECT room_id, type, content, stream FROM account_data WHERE user_id = ?"
            " AND stream > ? AND stream <= ? ORDER BY stream",
            user_id, since if since is not None else -1, upto)
        return [AccountData(r["room_id"], r["type"], json.loads(r["content"]),
                            int(r["stream"])) for r in rows]

    async def all_of_user(self, user_id: str) -> list[AccountData]:
        rows = await self._db.fetchall(
            "SELECT room_id, type, content, stream FROM account_data WHERE user_id = ?"
            " ORDER BY room_id, type", user_id)
        return [AccountData(r["room_id"], r["type"], json.loads(r["content"]),
                            int(r["stream"])) for r in rows]

    async def record_unignored(self, user_id: str, others: list[str], stream: int) -> None:
        """``user_id`` stopped ignoring ``others`` at ``stream``."""
        for other in others:
            await self._db.execute(
                "INSERT INTO unignored_users (user_id, unignored_user_id, stream)"
                " VALUES (?, ?, ?)", user_id, other, stream)

    async def unignored(self, user_id: str, after: int, upto: int) -> set[str]:
        """Whom the user stopped ignoring in (after, upto]."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT unignored_user_id FROM unignored_users WHERE user_id = ?"
            " AND stream > ? AND stream <= ?", user_id, after, upto)
        return {r["unignored_user_id"] for r in rows}
