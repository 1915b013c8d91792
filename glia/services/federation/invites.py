"""Invites across servers (``invite`` v2) both ways, and rejecting a remote invite.

Inviting another server's user: the invite is built and authorised here as any event
of ours (:meth:`EventsService.prepare`), sent to the invitee's server, which signs it
too, and only then written (re-checked against the room's state under its lock), so an
invite the other server refuses is never in the room.

Our user invited by another server: the event is checked (format, the sender's server's
signature, content hash), must invite one of our users and come from the sender's
server; we sign it and keep it, so the invitee sees it in ``/sync`` (the inviter's
``invite_room_state`` — the room's name and so on — is not kept yet) and can join
through the inviting server (or reject it with ``make_leave`` / ``send_leave`` there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from signedjson.types import SigningKey

from glia import errors
from glia.errors import MatrixError
from glia.ids import InvalidId, server_name_of
from glia.protocol.room_versions import get_room_version
from glia.protocol.signing import sign_event
from glia.protocol.stripped_state import stripped_events
from glia.services.events import EventRequest, EventsService
from glia.services.federation.pdus import BadPdu, PduChecks
from glia.services.federation.remote_join import RemoteMemberships
from glia.services.federation.resident import ResidentMemberships
from glia.storage import Storage, Stores
from glia.storage.events import StoredEvent

__all__ = ["Invites"]

#: The stripped state sent with an invite (the spec's recommendation).
STRIPPED_TYPES = ("m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar",
                  "m.room.canonical_alias", "m.room.encryption", "m.room.topic")


class Invites:
    def __init__(self, server_name: str, storage: Storage, events: EventsService,
                 checks: PduChecks, resident: ResidentMemberships,
                 remote: RemoteMemberships, signing_key: SigningKey) -> None:
        self._server_name = server_name
        self._storage = storage
        self._events = events
        self._checks = checks
        self._resident = resident
        self._remote = remote
        self._key = signing_key

    # -- outbound -----------------------------------------------------------------------

    async def invite_remote(self, room_id: str, inviter: str, invitee: str,
                            content: Mapping[str, Any]) -> StoredEvent:
        version, event_id, pdu = await self._events.prepare(room_id, EventRequest(
            inviter, "m.room.member", content, state_key=invitee))
        server = server_name_of(invitee)
        body = await self._remote.ask(
            server, "PUT", f"/_matrix/federation/v2/invite/{quote(room_id)}/"
            f"{quote(event_id)}", {"room_version": version.identifier, "event": pdu,
                                   "invite_room_state": await self._stripped(room_id)})
        returned = body.get("event")
        if not isinstance(returned, dict):
            raise MatrixError(502, "M_UNKNOWN", f"{server} answered no signed invite")
        try:
            checked_id, signed = await self._checks.checked(returned, version, {server})
        except BadPdu as e:
            raise MatrixError(502, "M_UNKNOWN", f"{server} answered a bad invite: {e}") \
                from e
        if checked_id != event_id or signed.get("content") != pdu["content"]:
            raise MatrixError(502, "M_UNKNOWN", f"{server} changed the invite")
        return await self._resident.write_membership(room_id, version, signed, event_id,
                                                     "The invite is no longer allowed")

    async def _stripped(self, room_id: str) -> list[dict[str, Any]]:
        ids = await self._storage.state.current_ids(room_id, [(t, "") for t in STRIPPED_TYPES])
        events = await self._storage.events.get_many(list(ids.values()))
        return [{"type": e.type, "state_key": e.state_key, "content": e.content,
                 "sender": e.sender} for e in events.values()]

    # -- inbound ------------------------------------------------------------------------

    async def receive(self, origin: str, room_id: str, event_id: str, room_version: str,
                      pdu: Mapping[str, Any],
                      invite_room_state: list[Any]) -> dict[str, Any]:
        """``PUT /v2/invite``: our user is invited; answers the event signed by us."""
        version = get_room_version(room_version)
        if version is None:
            raise MatrixError(400, "M_INCOMPATIBLE_ROOM_VERSION",
                              f"Room version {room_version} is not supported",
                              room_version=room_version)
        try:
            checked_id, event = await self._checks.checked(pdu, version)
        except BadPdu as e:
            raise errors.forbidden(str(e)) from e
        invitee = event.get("state_key")
        if checked_id != event_id or event.get("room_id") != room_id \
                or event.get("type") != "m.room.member" or not isinstance(invitee, str) \
                or event.get("content", {}).get("membership") != "invite":
            raise errors.invalid_param("Not an invite event of this room")
        try:
            ours = server_name_of(invitee) == self._server_name
            from_origin = server_name_of(str(event.get("sender"))) == origin
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        if not ours or await self._storage.users.get(invitee) is None:
            raise errors.not_found(f"{invitee} is not a user of this server")
        if not from_origin:
            raise errors.forbidden(f"{origin} cannot invite on behalf of the sender")
        if await self._storage.admin_rooms.blocked_by(room_id) is not None:
            raise errors.forbidden("This room has been blocked on this server")
        signed = sign_event(event, version, self._server_name, self._key)
        joined = await self._storage.state.members_at(room_id, None, ["join"])
        if any(server_name_of(m.user_id) == self._server_name for m in joined):
            # We are in the room: the invite arrives as any event of it would.
            return {"event": signed}

        async def write(tx: Stores) -> list[StoredEvent]:
            if await tx.events.get(event_id) is not None:
                return []
            # What the inviting server says of the room, for the invitee's client.
            await tx.stripped_state.put(event_id, room_id,
                                        stripped_events(invite_room_state))
            return [await self._events.persist_received(
                tx, room_id, version, signed, event_id, in_state=True, extremities=[])]

        await self._events.write_received(room_id, version, write,
                                          new_room_creator=str(event.get("sender")))
        return {"event": signed}

    async def reject_remote(self, user_id: str, room_id: str,
                            content: Mapping[str, Any]) -> None:
        """Reject an invite to a room this server is not in, through the inviter's
        server (``make_leave`` / ``send_leave``), then record the leave here."""
        member = await self._storage.state.membership_of(room_id, user_id)
        invite = await self._storage.events.get(member.event_id) if member else None
        if invite is None or member is None or member.membership != "invite":
            raise errors.forbidden(f"User {user_id} is not invited to {room_id}")
        await self._remote.leave_via(server_name_of(invite.sender), user_id, room_id,
                                     content)
