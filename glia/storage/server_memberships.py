"""Room memberships of one remote server's users: what the federation endpoints need to
judge what that server may see (its users' memberships over time)."""

from __future__ import annotations

from glia.ids import InvalidId, server_name_of
from glia.storage.engine import Executor
from glia.storage.state import StateInterval
from glia.storage.users import like_pattern


class ServerMembershipStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def intervals(self, room_id: str, server_name: str
                        ) -> dict[str, list[StateInterval]]:
        """Every membership the server's users ever had in the room, per user, oldest
        first. The LIKE narrows by the ID's ending; the exact server part is checked
        after (a server named ``8448`` must not match users of ``localhost:8448``)."""
        rows = await self._db.fetchall(
            "SELECT state_key, event_id, membership, from_stream, to_stream FROM room_state"
            " WHERE room_id = ? AND type = 'm.room.member' AND state_key LIKE ? ESCAPE '\\'"
            " ORDER BY state_key, from_stream",
            room_id, f"%:{like_pattern(server_name)}")
        out: dict[str, list[StateInterval]] = {}
        for r in rows:
            try:
                if server_name_of(r["state_key"]) != server_name:
                    continue
            except InvalidId:
                continue
            out.setdefault(r["state_key"], []).append(StateInterval(
                r["event_id"], r["membership"], int(r["from_stream"]),
                None if r["to_stream"] is None else int(r["to_stream"])))
        return out
