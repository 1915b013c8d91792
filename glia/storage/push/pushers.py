"""Pushers: where each user's notifications are sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from glia.storage.engine import Row
from glia.storage.push.common import StoreBase, chunks, dumps, marks, optional_int


@dataclass(frozen=True)
class Pusher:
    user_id: str
    app_id: str
    pushkey: str
    kind: str
    app_display_name: str
    device_display_name: str
    profile_tag: str
    lang: str
    data: dict[str, Any]
    device_id: str | None
    #: When the pushkey was last set, ms.
    pushkey_ts: int
    last_success_ts: int | None = None
    failing_since_ts: int | None = None


PUSHER_COLUMNS = (
    "user_id, app_id, pushkey, kind, app_display_name, device_display_name, profile_tag,"
    " lang, data, device_id, pushkey_ts, last_success_ts, failing_since_ts"
)


def pusher_from_row(row: Row, prefix: str = "") -> Pusher:
    return Pusher(
        user_id=row[f"{prefix}user_id"], app_id=row[f"{prefix}app_id"],
        pushkey=row[f"{prefix}pushkey"], kind=row["kind"],
        app_display_name=row["app_display_name"],
        device_display_name=row["device_display_name"], profile_tag=row["profile_tag"],
        lang=row["lang"], data=msgspec.json.decode(row["data"]), device_id=row["device_id"],
        pushkey_ts=int(row["pushkey_ts"]), last_success_ts=optional_int(row["last_success_ts"]),
        failing_since_ts=optional_int(row["failing_since_ts"]),
    )


class PusherStore(StoreBase):
    async def http_pusher_users_of_members(self, room_id: str, stream: int) -> set[str]:
        """The room's joined members at ``stream`` who have an HTTP pusher (one query,
        over the server's pushers, whatever the size of the room)."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT p.user_id FROM pushers p JOIN room_state m"
            " ON m.state_key = p.user_id WHERE p.kind = 'http' AND m.room_id = ?"
            " AND m.type = 'm.room.member' AND m.membership = 'join'"
            " AND m.from_stream <= ? AND (m.to_stream IS NULL OR m.to_stream > ?)",
            room_id, stream, stream)
        return {r["user_id"] for r in rows}

    async def http_pusher_users(self, user_ids: Sequence[str]) -> set[str]:
        """Which of ``user_ids`` have an HTTP pusher."""
        out: set[str] = set()
        for chunk in chunks(list(user_ids)):
            rows = await self._db.fetchall(
                "SELECT DISTINCT user_id FROM pushers WHERE kind = 'http'"
                f" AND user_id IN ({marks(chunk)})", *chunk)
            out.update(r["user_id"] for r in rows)
        return out

    async def pushers_of_user(self, user_id: str) -> list[Pusher]:
        rows = await self._db.fetchall(
            f"SELECT {PUSHER_COLUMNS} FROM pushers WHERE user_id = ?"
            " ORDER BY app_id, pushkey", user_id,
        )
        return [pusher_from_row(r) for r in rows]

    async def upsert_pusher(self, p: Pusher) -> None:
        """Create or update a pusher. Its device is kept on update (another of the user's
        devices may edit it) and only recorded if it exists."""
        await self._db.execute(
            f"INSERT INTO pushers ({PUSHER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " (SELECT device_id FROM devices WHERE user_id = ? AND device_id = ?),"
            " ?, NULL, NULL)"
            " ON CONFLICT (app_id, pushkey, user_id) DO UPDATE SET kind = excluded.kind,"
            " app_display_name = excluded.app_display_name,"
            " device_display_name = excluded.device_display_name,"
            " profile_tag = excluded.profile_tag, lang = excluded.lang, data = excluded.data,"
            " device_id = COALESCE(pushers.device_id, excluded.device_id),"
            " pushkey_ts = excluded.pushkey_ts, failing_since_ts = NULL",
            p.user_id, p.app_id, p.pushkey, p.kind, p.app_display_name,
            p.device_display_name, p.profile_tag, p.lang, dumps(p.data),
            p.user_id, p.device_id, p.pushkey_ts,
        )

    async def delete_pusher(self, user_id: str, app_id: str, pushkey: str) -> bool:
        return await self._db.execute(
            "DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?",
            user_id, app_id, pushkey,
        ) > 0

    async def delete_pushers_of_others(self, app_id: str, pushkey: str,
                                       keep_user_id: str) -> int:
        """Without ``append``, a pushkey belongs to one user: drop other users' pushers."""
        return await self._db.execute(
            "DELETE FROM pushers WHERE app_id = ? AND pushkey = ? AND user_id <> ?",
            app_id, pushkey, keep_user_id,
        )
