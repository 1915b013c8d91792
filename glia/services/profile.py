"""Display names and avatars."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import InvalidId, parse_user_id
from glia.services.auth import Requester
from glia.services.events import EventRequest, EventsService
from glia.storage import Storage
from glia.storage.profile import Profile

if TYPE_CHECKING:
    from glia.services.appservices.queries import AppServiceQueries

MAX_DISPLAYNAME_LENGTH = 256
MAX_AVATAR_URL_LENGTH = 1000


class ProfileService:
    def __init__(self, config: Config, storage: Storage, events: EventsService,
                 appservices: AppServiceQueries | None = None) -> None:
        self._appservices = appservices
        self._config = config
        self._storage = storage
        self._events = events

    async def get(self, user_id: str) -> Profile:
        try:
            parse_user_id(user_id)
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        profile = await self._storage.profile.get(user_id)
        if profile is None and self._appservices is not None \
                and await self._appservices.query_user(user_id):
            # An application service owning the ID was asked and created the user.
            profile = await self._storage.profile.get(user_id)
        if profile is None:
            raise errors.not_found("Profile was not found")
        return profile

    async def _check_can_edit(self, requester: Requester, user_id: str, what: str) -> None:
        if user_id != requester.user_id and not requester.is_admin:
            raise errors.forbidden(f"Cannot set another user's {what}")
        # Suspended users may not change their profile; an admin may change it for them.
        if user_id == requester.user_id and \
                (await self._storage.admin_users.restrictions(user_id))[0]:
            raise MatrixError(403, "M_USER_SUSPENDED",
                              "This action is not allowed while the account is suspended")

    async def set_displayname(self, requester: Requester, user_id: str,
                              value: str | None) -> None:
        await self._check_can_edit(requester, user_id, "displayname")
        if value is not None and len(value) > MAX_DISPLAYNAME_LENGTH:
            raise errors.invalid_param(
                f"Displayname is too long (max {MAX_DISPLAYNAME_LENGTH})"
            )
        await self.get(user_id)
        await self._storage.profile.set_displayname(user_id, value or None)
        await self._announce(user_id, "displayname", value or None,
                             by_admin=user_id != requester.user_id)

    async def set_avatar_url(self, requester: Requester, user_id: str,
                             value: str | None) -> None:
        await self._check_can_edit(requester, user_id, "avatar_url")
        if value is not None and len(value) > MAX_AVATAR_URL_LENGTH:
            raise errors.invalid_param(f"avatar_url is too long (max {MAX_AVATAR_URL_LENGTH})")
        await self.get(user_id)
        await self._storage.profile.set_avatar_url(user_id, value or None)
        await self._announce(user_id, "avatar_url", value or None,
                             by_admin=user_id != requester.user_id)

    async def _announce(self, user_id: str, key: str, value: str | None,
                        by_admin: bool) -> None:
        """Re-send the user's join event in every joined room, as clients read
        names and avatars from member events."""
        for member in await self._storage.state.rooms_of_user(user_id, ["join"]):
            current = await self._storage.events.get(member.event_id)
            content = dict(current.content) if current else {"membership": "join"}
            if content.get(key) == value:
                continue
            if value is None:
                content.pop(key, None)
            else:
                content[key] = value
            content.pop("join_authorised_via_users_server", None)
            try:
                await self._events.send(member.room_id, EventRequest(
                    user_id, "m.room.member", content, state_key=user_id,
                    by_admin=by_admin))
            except MatrixError:
                # A room whose rules refuse the update keeps the old name; the
                # profile itself has changed either way.
                continue
