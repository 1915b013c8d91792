"""Admin figures on Synapse's paths: media use per uploader
(``/v1/statistics/users/media``), the rooms taking the most space
(``/v1/statistics/database/rooms``), a user's sent invites and joined rooms since a time,
and the feed of quarantine changes (``/v1/media/quarantine_changes``).

All are read-only views of the tables as they stand; nothing here is kept on the side.
"""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.config import Config
from glia.services.targets import parse_user
from glia.storage import Storage
from glia.storage.statistics import USER_MEDIA_ORDER, UserMediaQuery

__all__ = ["QUARANTINE_PAGE", "USER_MEDIA_ORDER", "StatisticsAdminService", "UserMediaQuery"]

#: How many rooms ``statistics/database/rooms`` lists (fixed, as in Synapse).
LARGEST_ROOMS = 10
#: Changes per page of the quarantine feed (Synapse's fixed page size, also Glia's cap).
QUARANTINE_PAGE = 100


class StatisticsAdminService:
    def __init__(self, config: Config, storage: Storage) -> None:
        self._server_name = config.server_name
        self._storage = storage

    async def users_media(self, query: UserMediaQuery, offset: int, limit: int
                          ) -> tuple[list[dict[str, Any]], int]:
        users, total = await self._storage.statistics.user_media_page(query, offset, limit)
        return [{"user_id": u.user_id, "displayname": u.displayname,
                 "media_count": u.media_count, "media_length": u.media_length}
                for u in users], total

    async def database_rooms(self) -> dict[str, Any]:
        """Exact sizes (characters of stored event JSON), where Synapse estimates from
        PostgreSQL's planner statistics."""
        rooms = await self._storage.statistics.largest_rooms(LARGEST_ROOMS)
        return {"rooms": [{"room_id": r.room_id, "estimated_size": r.estimated_size}
                          for r in rooms]}

    async def sent_invite_count(self, user_id: str, from_ts: int) -> dict[str, Any]:
        _parse(user_id)
        return {"invite_count": await self._storage.statistics.sent_invite_count(user_id,
                                                                                  from_ts)}

    async def cumulative_joined_room_count(self, user_id: str, from_ts: int
                                           ) -> dict[str, Any]:
        _parse(user_id)
        count = await self._storage.statistics.joined_room_count(user_id, from_ts)
        return {"cumulative_joined_room_count": count}

    async def quarantine_changes(self, from_id: int, limit: int) -> dict[str, Any]:
        """Quarantine flips after position ``from_id``, oldest first, at most ``limit``
        (Synapse pages by :data:`QUARANTINE_PAGE`; Glia also takes less). ``next_batch``
        is the last position returned, or the newest position when nothing is new."""
        if limit < 1:
            raise errors.invalid_param("Query parameter limit must be greater than 0")
        limit = min(limit, QUARANTINE_PAGE)
        upto = await self._storage.media.quarantine_position()
        if from_id > upto:
            raise errors.invalid_param(
                f"The 'from' token {from_id} is beyond the newest position ({upto})")
        changes = await self._storage.media.quarantine_changes(from_id, upto, limit)
        return {
            "next_batch": changes[-1].stream_id if changes else upto,
            # Glia holds local media only, so every origin is this server.
            "changes": [{"origin": self._server_name, "media_id": c.media_id,
                         "quarantined": c.quarantined} for c in changes],
        }


def _parse(user_id: str) -> None:
    """Remote users are fine here (they simply have nothing); malformed IDs are not."""
    parse_user(user_id)
