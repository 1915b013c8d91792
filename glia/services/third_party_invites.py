"""Inviting by 3PID (``POST /rooms/{roomId}/invite`` with ``id_server``, ``medium``,
``address``), per the spec's "Third-party invites".

The identity server the inviter names is asked who has the address (the v2 hashed
lookup). Someone has it: an ordinary invite of that user. Nobody yet: the identity server
stores the invite (and mails the address) and answers a token and its public keys; the
room gets an ``m.room.third_party_invite`` state event under that token, which the
invitee's join later proves with the identity server's signature.
"""

from __future__ import annotations

from typing import Any

import msgspec

from glia import errors
from glia.protocol.threepids import canonical_address
from glia.services.events import EventRequest, EventsService
from glia.services.identity_servers import IdentityServers
from glia.services.membership import MembershipService
from glia.storage import Storage

__all__ = ["InviteRequest", "ThirdPartyInvite", "ThirdPartyInviteService"]

_ROOM_DETAILS = [("m.room.canonical_alias", ""), ("m.room.avatar", ""),
                 ("m.room.join_rules", ""), ("m.room.name", ""), ("m.room.create", "")]


class InviteRequest(msgspec.Struct):
    """``POST /rooms/{roomId}/invite``: a user, or a 3PID to look up at (or leave an
    invite with) an identity server."""

    user_id: str | None = None
    reason: str | None = None
    id_server: str | None = None
    id_access_token: str | None = None
    medium: str | None = None
    address: str | None = None


class ThirdPartyInvite(msgspec.Struct):
    id_server: str
    id_access_token: str
    medium: str
    address: str


def _text(content: dict[str, Any], key: str) -> str | None:
    value = content.get(key)
    return value if isinstance(value, str) else None


class ThirdPartyInviteService:
    def __init__(self, storage: Storage, identity: IdentityServers, events: EventsService,
                 membership: MembershipService) -> None:
        self._storage = storage
        self._identity = identity
        self._events = events
        self._membership = membership

    async def invite_by_request(self, inviter: str, room_id: str,
                                request: InviteRequest) -> None:
        """A user invite when ``user_id`` is given, else a third-party one (Synapse's
        order); a body with neither is missing ``user_id``."""
        if request.user_id is None and request.id_server is not None and \
                request.medium is not None and request.address is not None:
            if request.id_access_token is None:
                raise errors.missing_param("Missing params: id_access_token")
            await self.invite(inviter, room_id, ThirdPartyInvite(
                request.id_server, request.id_access_token, request.medium,
                request.address), request.reason)
            return
        if request.user_id is None:
            raise errors.missing_param("Missing params: user_id")
        await self._membership.invite(inviter, room_id, request.user_id, request.reason)

    async def invite(self, inviter: str, room_id: str, invite: ThirdPartyInvite,
                     reason: str | None) -> None:
        current = await self._storage.state.membership_of(room_id, inviter)
        if current is None or current.membership != "join":
            raise errors.forbidden(f"{inviter} is not in room {room_id}")
        address = canonical_address(invite.medium, invite.address)
        mxid = await self._identity.lookup(invite.id_server, invite.id_access_token,
                                           invite.medium, address)
        if mxid is not None:
            await self._membership.invite(inviter, room_id, mxid, reason)
            return
        token, keys, display_name = await self._identity.store_invite(
            invite.id_server, invite.id_access_token,
            await self._invite_details(inviter, room_id, invite.medium, address))
        await self._events.send(room_id, EventRequest(
            inviter, "m.room.third_party_invite",
            {"display_name": display_name, "key_validity_url": keys[0]["key_validity_url"],
             "public_key": keys[0]["public_key"], "public_keys": keys},
            state_key=token))

    async def _invite_details(self, inviter: str, room_id: str, medium: str,
                              address: str) -> dict[str, Any]:
        """What the identity server puts in the invitation mail (the spec's
        ``store-invite`` fields)."""
        ids = await self._storage.state.current_ids_by_key(room_id, _ROOM_DETAILS)
        events = await self._storage.events.get_many(list(ids.values()))

        def content(event_type: str) -> dict[str, Any]:
            event = events.get(ids.get((event_type, ""), ""))
            return event.content if event is not None else {}

        profile = await self._storage.profile.get(inviter)
        details: dict[str, Any] = {
            "medium": medium, "address": address, "room_id": room_id, "sender": inviter,
            "room_alias": _text(content("m.room.canonical_alias"), "alias"),
            "room_avatar_url": _text(content("m.room.avatar"), "url"),
            "room_join_rules": _text(content("m.room.join_rules"), "join_rule"),
            "room_name": _text(content("m.room.name"), "name"),
            "room_type": _text(content("m.room.create"), "type"),
            "sender_display_name": profile.displayname if profile else None,
            "sender_avatar_url": profile.avatar_url if profile else None,
        }
        return {k: v for k, v in details.items() if v is not None}
