"""Display names and avatars."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import InvalidId, parse_user_id
from glia.services.auth import Requester
from glia.services.events import EventRequest, EventsService
from glia.services.user_directory import refresh_local
from glia.storage import Storage, Stores
from glia.storage.profile import Profile

if TYPE_CHECKING:
    from glia.services.appservices.queries import AppServiceQueries

MAX_DISPLAYNAME_LENGTH = 256
MAX_AVATAR_URL_LENGTH = 1000


async def member_profile(storage: Storage | Stores, user_id: str) -> dict[str, Any]:
    """The user's current ``displayname`` and ``avatar_url`` (those set) for the
    ``m.room.member`` events the server writes: clients read names and avatars there."""
    return _member_fields(await storage.profile.get(user_id))


async def member_profiles(storage: Storage | Stores, user_ids: Sequence[str]
                          ) -> dict[str, dict[str, Any]]:
    """:func:`member_profile` of many users at once (a new room's invitees)."""
    profiles = await storage.profile.get_many(user_ids)
    return {user_id: _member_fields(profiles.get(user_id)) for user_id in user_ids}


def _member_fields(profile: Profile | None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if profile is not None:
        if profile.displayname is not None:
            fields["displayname"] = profile.displayname
        if profile.avatar_url is not None:
            fields["avatar_url"] = profile.avatar_url
    return fields


#: Asks a remote server (the second argument) for its user's profile.
RemoteProfiles = Callable[[str, str], Awaitable[Profile]]


class ProfileService:
    def __init__(self, config: Config, storage: Storage, events: EventsService,
                 remote: RemoteProfiles | None = None,
                 appservices: AppServiceQueries | None = None) -> None:
        self._appservices = appservices
        self._config = config
        self._storage = storage
        self._events = events
        self._remote = remote

    async def get(self, user_id: str) -> Profile:
        """A profile: ours from the database, another server's user's from that server."""
        try:
            domain = parse_user_id(user_id).domain
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        if domain != self._config.server_name and self._remote is not None:
            return await self._remote(user_id, domain)
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
        await refresh_local(self._storage, user_id)
        await self._announce(user_id, by_admin=user_id != requester.user_id)

    async def set_avatar_url(self, requester: Requester, user_id: str,
                             value: str | None) -> None:
        await self._check_can_edit(requester, user_id, "avatar_url")
        if value is not None and len(value) > MAX_AVATAR_URL_LENGTH:
            raise errors.invalid_param(f"avatar_url is too long (max {MAX_AVATAR_URL_LENGTH})")
        await self.get(user_id)
        await self._storage.profile.set_avatar_url(user_id, value or None)
        await refresh_local(self._storage, user_id)
        await self._announce(user_id, by_admin=user_id != requester.user_id)

    async def _announce(self, user_id: str, by_admin: bool) -> None:
        """Re-send the user's join event in every joined room with the whole current
        profile (both fields, not only the changed one: an older join may hold a stale
        or missing other field), as clients read names and avatars from member events —
        except for a shadow-banned user changing their own profile: it changes, but no
        room sees it (as Synapse)."""
        if not by_admin and (await self._storage.admin_users.restrictions(user_id))[1]:
            return
        fields = await member_profile(self._storage, user_id)
        for member in await self._storage.state.rooms_of_user(user_id, ["join"]):
            current = await self._storage.events.get(member.event_id)
            old = current.content if current else {}
            if all(old.get(k) == fields.get(k) for k in ("displayname", "avatar_url")):
                continue
            try:
                await self._events.send(member.room_id, EventRequest(
                    user_id, "m.room.member", {"membership": "join", **fields},
                    state_key=user_id, by_admin=by_admin))
            except MatrixError:
                # A room whose rules refuse the update keeps the old name; the
                # profile itself has changed either way.
                continue
