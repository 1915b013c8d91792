"""Joining, inviting, leaving, kicking, banning, knocking and forgetting rooms.

Each is one ``m.room.member`` event through the single writer; the room's auth rules
decide whether it is allowed, so these methods only add what the rules can't know
(resolving aliases, profile data in the member event, restricted-join authorisers).
Aliases are resolved by the directory, as ``GET /directory/room/{roomAlias}`` resolves
them, so a join by an alias in an application service's namespace asks that service too.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import msgspec

from glia import errors
from glia.errors import MatrixError
from glia.ids import (
    InvalidId,
    is_valid_room_alias,
    is_valid_room_id,
    parse_user_id,
    server_name_of,
)
from glia.services.directory import DirectoryService
from glia.services.events import EventRequest, EventsService
from glia.services.federation.invites import Invites
from glia.services.federation.knock import Knocks
from glia.services.federation.remote_join import RemoteMemberships
from glia.services.guest_access import check_guest_may_join
from glia.services.jobs import JobContext
from glia.services.profile import member_profile
from glia.services.restricted_joins import restricted_join
from glia.storage import Storage
from glia.storage.events import StoredEvent

logger = logging.getLogger(__name__)


class ThirdPartySigned(msgspec.Struct, frozen=True):
    """An identity server's signed proof that the joining user owns the invited 3PID
    (``third_party_signed`` of ``/join``)."""

    sender: str
    mxid: str
    token: str
    signatures: dict[str, dict[str, str]]


class JoinCommand(msgspec.Struct, frozen=True, kw_only=True):
    """What a client's ``/join`` adds to a plain join: a 3PID proof, and the membership
    content it asked for (the body's other keys, e.g. a per-room ``displayname``; the
    global profile fills in what it leaves out)."""

    third_party_signed: ThirdPartySigned | None = None
    content: dict[str, Any] = {}


class MembershipService:
    def __init__(self, storage: Storage, events: EventsService,
                 directory: DirectoryService,
                 remote: RemoteMemberships | None = None,
                 invites: Invites | None = None, knocks: Knocks | None = None) -> None:
        """``remote`` joins rooms this server is not in, over federation; ``invites``
        invites other servers' users and rejects their servers' invites; ``knocks``
        knocks on (and withdraws knocks from) rooms of other servers."""
        self._knocks = knocks
        self._remote = remote
        self._invites = invites
        self._storage = storage
        self._events = events
        self._directory = directory

    async def resolve_room(self, room_id_or_alias: str) -> str:
        """A room ID from a room ID or an alias, resolved by the directory (which asks
        the application service owning an unknown alias, or the alias's server);
        ``404`` if this server does not know the room."""
        room_id, _ = await self._resolve(room_id_or_alias)
        if await self._storage.rooms.get(room_id) is None:
            raise errors.not_found("No known servers for this room")
        return room_id

    async def _resolve(self, room_id_or_alias: str) -> tuple[str, list[str]]:
        """(room ID, servers the directory says are in it)."""
        if is_valid_room_alias(room_id_or_alias):
            target = await self._directory.resolve(room_id_or_alias)
            return target.room_id, list(target.servers)
        if is_valid_room_id(room_id_or_alias):
            return room_id_or_alias, []
        raise errors.invalid_param(f"{room_id_or_alias} was not legal room ID or room alias")

    async def _resident(self, room_id: str) -> bool:
        """Whether this server takes part in the room: it knows its state (not just an
        invite to it), and a user of ours is joined or no other server's user is (a
        local room everyone left)."""
        if await self._storage.rooms.get(room_id) is None or not \
                await self._storage.state.current_ids(room_id, [("m.room.create", "")]):
            return False
        state = self._storage.state
        return await state.has_joined_member(room_id, self._events.server_name) or \
            not await state.has_joined_member(room_id)

    async def _join_remote(self, user_id: str, room_id: str, servers: list[str],
                           content: dict[str, Any]) -> str:
        if self._remote is None:
            raise errors.not_found("No known servers for this room")
        candidates = await self._remote_candidates(user_id, room_id, servers)
        await self._remote.join(user_id, room_id, candidates, content)
        await self._storage.rooms.unforget(user_id, room_id)
        return room_id

    async def _remote_candidates(self, user_id: str, room_id: str,
                                 servers: list[str]) -> list[str]:
        """The servers to join or knock through, in order: ``servers`` (the client's
        ``via``, the alias's servers), the inviting server, the room ID's server."""
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a legal room ID")
        candidates = list(servers)
        invite = await self._storage.state.membership_of(room_id, user_id)
        if invite is not None and invite.membership == "invite":
            invited = await self._storage.events.get(invite.event_id)
            if invited is not None:
                candidates.append(server_name_of(invited.sender))
        with contextlib.suppress(InvalidId):  # before v12: the room's creator
            candidates.append(server_name_of(room_id))
        if await self._storage.admin_rooms.blocked_by(room_id) is not None:
            raise MatrixError(403, "M_UNKNOWN", "This room has been blocked on this server")
        return candidates

    async def _member_content(self, user_id: str, membership: str,
                              reason: str | None) -> dict[str, Any]:
        content: dict[str, Any] = {"membership": membership}
        if membership in ("join", "invite", "knock"):
            content.update(await member_profile(self._storage, user_id))
        if reason is not None:
            content["reason"] = reason
        return content

    async def _send(self, room_id: str, sender: str, target: str, membership: str,
                    reason: str | None, extra: dict[str, Any] | None = None) -> StoredEvent:
        content = await self._member_content(target, membership, reason)
        content.update(extra or {})
        return await self._send_content(room_id, sender, target, content)

    async def _send_content(self, room_id: str, sender: str, target: str,
                            content: dict[str, Any]) -> StoredEvent:
        if content["membership"] in ("join", "invite", "knock") and \
                await self._storage.admin_rooms.blocked_by(room_id) is not None:
            raise MatrixError(403, "M_UNKNOWN", "This room has been blocked on this server")
        return await self._events.send(
            room_id, EventRequest(sender, "m.room.member", content, state_key=target)
        )

    async def join(self, user_id: str, room_id_or_alias: str, reason: str | None,
                   command: JoinCommand | None = None, via: list[str] | None = None) -> str:
        """Join; ``command`` holds what a client's ``/join`` body adds. Joining again
        with the same content (and no 3PID proof) writes nothing, as on Synapse. A room
        this server is not in is joined over federation, through ``via`` (the client's
        ``via``/``server_name``), the alias's servers or the room ID's server."""
        command = command or JoinCommand()
        room_id, servers = await self._resolve(room_id_or_alias)
        if not await self._resident(room_id):
            content = {**command.content, "membership": "join"}
            content.pop("join_authorised_via_users_server", None)
            if reason is not None:
                content["reason"] = reason
            for key, value in (await member_profile(self._storage, user_id)).items():
                content.setdefault(key, value)
            return await self._join_remote(user_id, room_id, [*(via or []), *servers],
                                           content)
        if command.third_party_signed is not None:
            await self._exchange_third_party_invite(room_id, user_id,
                                                    command.third_party_signed)
        current = await self._storage.state.membership_of(room_id, user_id)
        content = {**command.content, "membership": "join"}
        content.pop("join_authorised_via_users_server", None)
        if reason is not None:
            content["reason"] = reason
        for key, value in (await member_profile(self._storage, user_id)).items():
            content.setdefault(key, value)
        if current is not None and current.membership == "join":
            old = await self._storage.events.get(current.event_id)
            kept = {k: v for k, v in (old.content if old else {}).items()
                    if k != "join_authorised_via_users_server"}
            if old is None or (old.sender == user_id and kept == content):
                return room_id
        await check_guest_may_join(self._storage, user_id, room_id)
        authoriser = (await restricted_join(self._storage, self._events.server_name,
                                            room_id, user_id)).authoriser
        if authoriser is not None:
            content["join_authorised_via_users_server"] = authoriser
        await self._send_content(room_id, user_id, user_id, content)
        await self._storage.rooms.unforget(user_id, room_id)
        return room_id

    async def _exchange_third_party_invite(self, room_id: str, user_id: str,
                                           signed: ThirdPartySigned) -> None:
        """Turn a pending ``m.room.third_party_invite`` into an invite of the joining
        user, sent by its inviter with the identity server's signed proof (the auth
        rules verify the signature against the invite's public keys)."""
        if signed.mxid != user_id:
            raise errors.forbidden("third_party_signed.mxid is not the joining user")
        key = ("m.room.third_party_invite", signed.token)
        event_id = (await self._storage.state.current_ids(room_id, [key])).get(key)
        invite = await self._storage.events.get(event_id) if event_id else None
        if invite is None or invite.sender != signed.sender:
            raise errors.forbidden("No matching third-party invite in the room")
        current = await self._storage.state.membership_of(room_id, user_id)
        if current is not None and current.membership in ("invite", "join"):
            return
        content = {"membership": "invite", **await member_profile(self._storage, user_id),
                   "third_party_invite": {
                       "display_name": invite.content.get("display_name", ""),
                       "signed": msgspec.to_builtins(signed)}}
        await self._send_content(room_id, signed.sender, user_id, content)

    async def invite(self, inviter: str, room_id: str, invitee: str,
                     reason: str | None) -> None:
        if self._invites is not None and \
                _check_user_id(invitee).domain != self._events.server_name:
            await self._room_exists(room_id)
            content: dict[str, Any] = {"membership": "invite"}
            if reason is not None:
                content["reason"] = reason
            if await self._storage.admin_rooms.blocked_by(room_id) is not None:
                raise MatrixError(403, "M_UNKNOWN", "This room has been blocked on this server")
            await self._invites.invite_remote(room_id, inviter, invitee, content)
            return
        await self._check_local_user(invitee)
        await self._room_exists(room_id)
        current = await self._storage.state.membership_of(room_id, invitee)
        if current is not None and current.membership == "join":
            raise errors.forbidden(f"{invitee} is already in the room.")
        await self._send(room_id, inviter, invitee, "invite", reason)

    async def leave(self, user_id: str, room_id: str, reason: str | None) -> None:
        await self._room_exists(room_id)
        current = await self._storage.state.membership_of(room_id, user_id)
        if current is None or current.membership in ("leave", "ban"):
            raise errors.forbidden(f"User {user_id} is not in room {room_id}")
        if current.membership == "invite" and self._invites is not None and \
                not await self._resident(room_id):
            content = {"membership": "leave", **({"reason": reason} if reason else {})}
            await self._invites.reject_remote(user_id, room_id, content)
            return
        if current.membership == "knock" and self._knocks is not None and \
                not await self._resident(room_id):
            await self._knocks.rescind_remote(
                user_id, room_id, await self._member_content(user_id, "leave", reason))
            return
        await self._send(room_id, user_id, user_id, "leave", reason)

    async def client_leave(self, user_id: str, room_id: str, reason: str | None) -> None:
        """A user's own ``/leave``: like :meth:`leave`, except that the invite to their
        server-notices room cannot be rejected (as on Synapse and Dendrite)."""
        current = await self._storage.state.membership_of(room_id, user_id)
        if current is not None and current.membership == "invite" and \
                await self._storage.server_notices.room_of(user_id) == room_id:
            raise errors.forbidden("You cannot reject this invite")
        await self.leave(user_id, room_id, reason)

    async def leave_all(self, user_id: str, memberships: tuple[str, ...] = ("join", "invite",
                                                                          "knock"),
                        reason: str | None = None) -> list[str]:
        """Leave every room (and reject every invite and knock); returns the room IDs.

        Idempotent, so a deactivation or evacuation job interrupted by a crash can simply
        run again: rooms already left are no longer listed.
        """
        left = []
        for member in await self._storage.state.rooms_of_user(user_id, list(memberships)):
            try:
                await self._send(member.room_id, user_id, user_id, "leave", reason)
            except MatrixError as e:
                # E.g. the room's rules forbid it; the others still get left.
                logger.warning("%s could not leave %s: %s", user_id, member.room_id, e.error)
                continue
            left.append(member.room_id)
        return left

    async def leave_all_job(self, job: JobContext) -> dict[str, Any]:
        """Job runner: ``params.user_id`` leaves everything (deactivation)."""
        left = await self.leave_all(str(job.params["user_id"]))
        await job.progress(len(left), len(left))
        return {"left_rooms": left}

    async def kick(self, sender: str, room_id: str, target: str, reason: str | None) -> None:
        await self._room_exists(room_id)
        current = await self._storage.state.membership_of(room_id, target)
        if current is None or current.membership not in ("join", "invite", "knock"):
            raise errors.forbidden(f"{target} is not in the room")
        await self._send(room_id, sender, target, "leave", reason)

    async def ban(self, sender: str, room_id: str, target: str, reason: str | None) -> None:
        await self._room_exists(room_id)
        _check_user_id(target)
        await self._send(room_id, sender, target, "ban", reason)

    async def unban(self, sender: str, room_id: str, target: str, reason: str | None) -> None:
        await self._room_exists(room_id)
        current = await self._storage.state.membership_of(room_id, target)
        if current is None or current.membership != "ban":
            raise errors.forbidden(f"{target} is not banned")
        await self._send(room_id, sender, target, "leave", reason)

    async def knock(self, user_id: str, room_id_or_alias: str, reason: str | None,
                    via: list[str] | None = None) -> str:
        """Knock; on a room this server is not in, over federation (servers chosen as
        for a join)."""
        room_id, servers = await self._resolve(room_id_or_alias)
        if self._knocks is not None and not await self._resident(room_id):
            candidates = await self._remote_candidates(user_id, room_id,
                                                       [*(via or []), *servers])
            await self._knocks.knock_remote(
                user_id, room_id, candidates,
                await self._member_content(user_id, "knock", reason))
            return room_id
        room_id = await self.resolve_room(room_id)
        await self._send(room_id, user_id, user_id, "knock", reason)
        return room_id

    async def forget(self, user_id: str, room_id: str) -> None:
        current = await self._storage.state.membership_of(room_id, user_id)
        if current is not None and current.membership in ("join", "invite", "knock"):
            raise MatrixError(400, "M_UNKNOWN", "User must leave the room before forgetting it")
        if current is None:
            raise errors.not_found("Not a known room for this user")
        await self._storage.rooms.forget(user_id, room_id)

    async def _room_exists(self, room_id: str) -> None:
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a legal room ID")
        if await self._storage.rooms.get(room_id) is None:
            raise errors.not_found("Unknown room")

    async def _check_local_user(self, user_id: str) -> None:
        parsed = _check_user_id(user_id)
        if parsed.domain != self._events.server_name:
            raise MatrixError(400, "M_UNKNOWN",
                              "Cannot invite remote users: federation is not enabled yet")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found(f"Unknown user {user_id}")


def _check_user_id(user_id: str) -> Any:
    try:
        return parse_user_id(user_id)
    except InvalidId as e:
        raise errors.invalid_param(str(e)) from e
