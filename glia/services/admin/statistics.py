"""Admin figures on Synapse's paths: media use per uploader
(``/v1/statistics/users/media``), the rooms taking the most space
(``/v1/statistics/database/rooms``), a user's sent invites and joined rooms since a time,
and the feed of quarantine changes (``/v1/media/quarantine_changes``).

All are read-only views of the tables as they stand; nothing here is kept on the side.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.config import Config
from glia.services.paging import next_offset
from glia.services.targets import parse_user
from glia.storage import Storage
from glia.storage.statistics import USER_MEDIA_ORDER, UserMediaQuery

__all__ = ["QUARANTINE_PAGE", "USER_MEDIA_ORDER", "DatabaseRooms", "JoinedRoomCount",
           "QuarantineChange", "QuarantineChanges", "RoomSize", "SentInviteCount",
           "StatisticsAdminService", "UserMedia", "UserMediaQuery", "UsersMedia"]

#: How many rooms ``statistics/database/rooms`` lists (fixed, as in Synapse).
LARGEST_ROOMS = 10
#: Changes per page of the quarantine feed (Synapse's fixed page size, also Glia's cap).
QUARANTINE_PAGE = 100


class UserMedia(msgspec.Struct):
    """One uploader's media use (``media_length`` in bytes)."""

    user_id: str
    displayname: str | None
    media_count: int
    media_length: int


class UsersMedia(msgspec.Struct):
    """A page of uploaders; ``next_token`` (a number) only while more remain."""

    users: list[UserMedia]
    total: int
    next_token: int | UnsetType = UNSET


class RoomSize(msgspec.Struct):
    room_id: str
    estimated_size: int


class DatabaseRooms(msgspec.Struct):
    rooms: list[RoomSize]


class SentInviteCount(msgspec.Struct):
    invite_count: int


class JoinedRoomCount(msgspec.Struct):
    cumulative_joined_room_count: int


class QuarantineChange(msgspec.Struct):
    origin: str
    media_id: str
    quarantined: bool


class QuarantineChanges(msgspec.Struct):
    next_batch: int
    changes: list[QuarantineChange]


class StatisticsAdminService:
    def __init__(self, config: Config, storage: Storage) -> None:
        self._server_name = config.server_name
        self._storage = storage

    async def users_media(self, query: UserMediaQuery, offset: int, limit: int) -> UsersMedia:
        """Media use per uploader (Synapse's checks and messages)."""
        if query.order_by not in USER_MEDIA_ORDER:
            raise errors.invalid_param("Query parameter 'order_by' must be one of ["
                                       + ", ".join(repr(k) for k in USER_MEDIA_ORDER) + "]")
        if query.until_ts is not None and query.until_ts <= query.from_ts:
            raise errors.invalid_param(
                "Query parameter until_ts must be greater than from_ts.")
        if query.search_term == "":
            raise errors.invalid_param(
                "Query parameter search_term cannot be an empty string.")
        users, total = await self._storage.statistics.user_media_page(query, offset, limit)
        following = next_offset(offset, len(users), total)
        return UsersMedia([UserMedia(u.user_id, u.displayname, u.media_count, u.media_length)
                           for u in users], total,
                          UNSET if following is None else following)

    async def database_rooms(self) -> DatabaseRooms:
        """Exact sizes (characters of stored event JSON), where Synapse estimates from
        PostgreSQL's planner statistics."""
        rooms = await self._storage.statistics.largest_rooms(LARGEST_ROOMS)
        return DatabaseRooms([RoomSize(r.room_id, r.estimated_size) for r in rooms])

    async def sent_invite_count(self, user_id: str, from_ts: int) -> SentInviteCount:
        _parse(user_id)
        return SentInviteCount(
            await self._storage.statistics.sent_invite_count(user_id, from_ts))

    async def cumulative_joined_room_count(self, user_id: str, from_ts: int
                                           ) -> JoinedRoomCount:
        _parse(user_id)
        return JoinedRoomCount(
            await self._storage.statistics.joined_room_count(user_id, from_ts))

    async def quarantine_changes(self, from_id: int, limit: int) -> QuarantineChanges:
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
        return QuarantineChanges(
            changes[-1].stream_id if changes else upto,
            # Glia holds local media only, so every origin is this server.
            [QuarantineChange(self._server_name, c.media_id, c.quarantined)
             for c in changes])


def _parse(user_id: str) -> None:
    """Remote users are fine here (they simply have nothing); malformed IDs are not."""
    parse_user(user_id)
