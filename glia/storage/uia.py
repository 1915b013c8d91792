"""User-interactive authentication sessions, in the database so any process can resume one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor


@dataclass(frozen=True)
class UiaSession:
    session_id: str
    scope: str
    user_id: str | None
    completed: list[str]
    created_ts: int
    #: What the session's requests asked for (see ``set_params``).
    params: dict[str, Any] | None = None


class UiaStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def create(self, session_id: str, scope: str, user_id: str | None, now: int) -> None:
        await self._db.execute(
            "INSERT INTO uia_sessions (session_id, scope, user_id, completed, created_ts)"
            " VALUES (?, ?, ?, '[]', ?)",
            session_id, scope, user_id, now,
        )

    async def get(self, session_id: str) -> UiaSession | None:
        row = await self._db.fetchone(
            "SELECT session_id, scope, user_id, completed, created_ts, params FROM uia_sessions"
            " WHERE session_id = ?",
            session_id,
        )
        if row is None:
            return None
        return UiaSession(
            row["session_id"], row["scope"], row["user_id"], json.loads(row["completed"]),
            int(row["created_ts"]), None if row["params"] is None else json.loads(row["params"]),
        )

    async def set_completed(self, session_id: str, completed: list[str]) -> None:
        await self._db.execute(
            "UPDATE uia_sessions SET completed = ? WHERE session_id = ?",
            json.dumps(completed), session_id,
        )

    async def set_params(self, session_id: str, params: dict[str, Any]) -> None:
        await self._db.execute(
            "UPDATE uia_sessions SET params = ? WHERE session_id = ?",
            json.dumps(params, separators=(",", ":")), session_id,
        )

    async def delete(self, session_id: str) -> None:
        await self._db.execute("DELETE FROM uia_sessions WHERE session_id = ?", session_id)

    async def sweep(self, older_than: int) -> None:
        await self._db.execute("DELETE FROM uia_sessions WHERE created_ts < ?", older_than)
