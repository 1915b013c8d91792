"""Read-only questions admin tools ask about users: the rooms they are in, their
memberships, who owns a 3PID or an SSO identity, their account data, and whether a
username is free.

Which of these accept remote users, and which check that the user exists, follows
Synapse endpoint by endpoint, because tools rely on the differences (joined rooms and
memberships answer for remote users from this server's view of its rooms).
"""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import UserId
from glia.services.registration import RegistrationService
from glia.services.targets import parse_user
from glia.storage import Storage
from glia.storage.account_data import GLOBAL

#: Every membership a user can have in a room.
MEMBERSHIPS = ["join", "invite", "leave", "ban", "knock"]


class UserLookupService:
    def __init__(self, config: Config, storage: Storage,
                 registration: RegistrationService) -> None:
        self._config = config
        self._storage = storage
        self._registration = registration

    @staticmethod
    def _parse(user_id: str) -> UserId:
        return parse_user(user_id)

    async def joined_rooms(self, user_id: str) -> dict[str, Any]:
        """Rooms whose current state has the user joined (no existence check, remote
        users too, as in Synapse)."""
        self._parse(user_id)
        rooms = [m.room_id for m in await self._storage.state.rooms_of_user(user_id, ["join"])]
        return {"joined_rooms": rooms, "total": len(rooms)}

    async def memberships(self, user_id: str) -> dict[str, Any]:
        """The user's current membership in every room this server is still in: as
        Synapse, which forgets a room's current state once no local user is joined, a
        room everyone here left drops out."""
        self._parse(user_id)
        members = await self._storage.state.rooms_of_user(user_id, MEMBERSHIPS)
        present = await self._storage.admin_rooms.rooms_with_local_joined(
            [m.room_id for m in members], self._config.server_name)
        return {"memberships": {m.room_id: m.membership for m in members
                                if m.room_id in present}}

    async def search_users(self, user_id: str, term: str | None) -> list[dict[str, Any]]:
        """Synapse's legacy ``search_users``: a bare list of the accounts whose user ID
        contains ``term``. Synapse also sends each ``password_hash``; Glia sends ``null``
        (a hash is no admin tool's business and would let anyone holding an admin token
        attack the passwords offline)."""
        if self._parse(user_id).domain != self._config.server_name:
            raise MatrixError(400, "M_UNKNOWN", "Can only users a local user")
        if term is None:
            raise errors.missing_param("Missing string query parameter 'term'")
        notices = self._config.server_notices
        hidden = f"@{notices.system_mxid_localpart}:{self._config.server_name}" \
            if notices.enabled else None
        return [{"name": r["name"], "password_hash": None, "is_guest": bool(r["is_guest"]),
                 "admin": bool(r["admin"]), "user_type": r["user_type"]}
                for r in await self._storage.admin_users.search_names(term)
                if r["name"] != hidden]

    async def account_data(self, user_id: str) -> dict[str, Any]:
        """Everything the user stored, secrets included (that is what admins ask for)."""
        if self._parse(user_id).domain != self._config.server_name:
            raise MatrixError(400, "M_UNKNOWN", "Can only look up local users")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        global_data: dict[str, Any] = {}
        rooms: dict[str, dict[str, Any]] = {}
        for item in await self._storage.account_data.all_of_user(user_id):
            if item.room_id == GLOBAL:
                global_data[item.type] = item.content
            else:
                rooms.setdefault(item.room_id, {})[item.type] = item.content
        return {"account_data": {"global": global_data, "rooms": rooms}}

    async def username_available(self, username: str | None) -> dict[str, Any]:
        """``{"available": true}`` or an error saying why not (never ``false``), by the
        registration rules, even when registration is closed."""
        if username is None:
            raise errors.missing_param("Missing string query parameter 'username'")
        await self._registration.check_available(username)
        return {"available": True}

    async def by_threepid(self, medium: str, address: str) -> dict[str, Any]:
        user_id = await self._storage.admin_users.threepid_owner(medium, address)
        if user_id is None:
            raise errors.not_found("User not found")
        return {"user_id": user_id}

    async def by_external_id(self, auth_provider: str, external_id: str) -> dict[str, Any]:
        user_id = await self._storage.admin_users.external_id_owner(auth_provider,
                                                                    external_id)
        if user_id is None:
            raise errors.not_found("User not found")
        return {"user_id": user_id}
