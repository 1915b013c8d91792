"""Server notices (Synapse's ``/v1/send_server_notice``): messages from a system user
into a per-user room tagged ``m.server_notice``, which the user cannot post in and whose
invite they cannot reject; a user who left is invited back by the next notice."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.services.account_data import AccountDataService
from glia.services.events import EventRequest, EventsService
from glia.services.membership import MembershipService
from glia.services.registration import RegistrationService
from glia.services.rooms import CreateRoom, InitialStateEvent, RoomService
from glia.services.targets import local_user
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage

SERVER_NOTICE_TAG = "m.server_notice"


class ServerNotice(msgspec.Struct):
    """``/v1/send_server_notice``: to whom, and the event (a message by default)."""

    user_id: str
    content: dict[str, Any]
    type: str = "m.room.message"
    state_key: str | None = None


class ServerNoticeService:
    def __init__(self, config: Config, storage: Storage, events: EventsService,
                 rooms: RoomService, membership: MembershipService,
                 registration: RegistrationService, account_data: AccountDataService) -> None:
        self._config = config.server_notices
        self._server_name = config.server_name
        self._storage = storage
        self._events = events
        self._rooms = rooms
        self._membership = membership
        self._registration = registration
        self._account_data = account_data
        # One notices room per user, even when two notices race for a new user.
        self._lock = asyncio.Lock()

    @property
    def system_user(self) -> str:
        return f"@{self._config.system_mxid_localpart}:{self._server_name}"

    async def send(self, uow: UnitOfWork, body: ServerNotice, txn_id: str | None
                   ) -> dict[str, Any]:
        """Send a notice (once per access token and ``txn_id``). Creating the notices
        room and sending the notice are events, each committed on its own; the audit row
        commits with the first of them."""
        if not self._config.enabled:
            raise MatrixError(400, "M_UNKNOWN", "Server notices are not enabled on this server")
        await self._check_target(body.user_id)
        token_hash = uow.requester.token_hash
        if txn_id is not None:
            sent = await self._storage.server_notices.sent(token_hash, txn_id)
            if sent is not None:
                return {"event_id": sent}
        with uow.event_writes():
            event_id = await self._deliver(body.user_id, body.type, body.content,
                                           body.state_key)
        if txn_id is not None:
            await self._storage.server_notices.record_sent(token_hash, txn_id, event_id)
        return {"event_id": event_id}

    async def notify(self, user_id: str, content: dict[str, Any]) -> str:
        """A notice the server itself sends (not an admin request: no audit row, no
        transaction ID), e.g. account renewal reminders. Returns its event ID."""
        if not self._config.enabled:
            raise MatrixError(400, "M_UNKNOWN", "Server notices are not enabled on this server")
        await self._check_target(user_id)
        return await self._deliver(user_id, "m.room.message", content, None)

    async def _deliver(self, user_id: str, event_type: str, content: dict[str, Any],
                       state_key: str | None) -> str:
        """Send from the system user into the user's notices room (made on first use)."""
        async with self._lock:
            await self._ensure_system_user()
            room_id = await self._room_for(user_id)
        event = await self._events.send(room_id, EventRequest(
            self.system_user, event_type, content, state_key=state_key))
        return event.event_id

    async def _check_target(self, user_id: str) -> None:
        local_user(user_id, self._server_name, "Server notices can only be sent to local users")
        if user_id == self.system_user or await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")

    async def _ensure_system_user(self) -> None:
        user_id = self.system_user
        if await self._storage.users.get(user_id) is None:
            await self._registration.register(
                self._config.system_mxid_localpart, None,
                displayname=self._config.system_mxid_display_name or None, inhibit_login=True)
            if self._config.system_mxid_avatar_url:
                await self._storage.profile.set_avatar_url(user_id,
                                                           self._config.system_mxid_avatar_url)

    async def _room_for(self, user_id: str) -> str:
        """The user's notices room: the current one (inviting them back if they left),
        or a new one."""
        room_id = await self._storage.server_notices.room_of(user_id)
        if room_id is not None and await self._storage.rooms.get(room_id) is not None:
            system = await self._storage.state.membership_of(room_id, self.system_user)
            if system is not None and system.membership == "join":
                member = await self._storage.state.membership_of(room_id, user_id)
                if member is None or member.membership not in ("join", "invite"):
                    await self._membership.invite(self.system_user, room_id, user_id, None)
                return room_id
        avatar = self._config.room_avatar_url
        room_id = await self._rooms.create_room(self.system_user, CreateRoom(
            preset="private_chat", name=self._config.room_name, invite=[user_id],
            creation_content={"m.federate": False},
            # Everyone but the system user (the creator) is muted: notices are one-way.
            power_level_content_override={"users_default": -10},
            topic=self._config.room_topic or None,
            initial_state=[InitialStateEvent("m.room.avatar", {"url": avatar})]
            if avatar else None,
        ))
        await self._storage.server_notices.set_room(user_id, room_id)
        await self._account_data.add_tag(user_id, room_id, SERVER_NOTICE_TAG, {"order": 1.0})
        return room_id

    async def is_notice_room(self, user_id: str, room_id: str) -> bool:
        return await self._storage.server_notices.room_of(user_id) == room_id
