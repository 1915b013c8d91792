"""Moderation of a sender before the event writer builds anything: account suspension
and shadow-bans (see :func:`moderate`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glia.clock import now_ms
from glia.errors import MatrixError
from glia.ids import random_string
from glia.storage import Storage
from glia.storage.events import StoredEvent

if TYPE_CHECKING:
    from glia.services.events import EventRequest


async def moderate(storage: Storage, room_id: str, request: EventRequest
                   ) -> StoredEvent | None:
    """Account suspension and shadow-bans of the sender. A suspended user may only
    leave rooms and redact their own events (the spec's account suspension); a
    shadow-banned user's messages, state, redactions and invites look sent but are
    dropped: a made-up event, never stored or delivered (Synapse's behaviour)."""
    suspended, shadow_banned = await storage.admin_users.restrictions(
        request.sender)
    if suspended:
        if request.event_type == "m.room.member":
            allowed = request.state_key == request.sender and \
                request.content.get("membership") == "leave"
        elif request.event_type == "m.room.redaction" and request.redacts is not None:
            target = await storage.events.get(request.redacts)
            allowed = target is not None and target.sender == request.sender
        else:
            allowed = False
        if not allowed:
            raise suspended_error()
    if shadow_banned and (request.event_type != "m.room.member" or is_invite(request)):
        pdu = {"type": request.event_type, "sender": request.sender, "room_id": room_id,
               "content": dict(request.content), "origin_server_ts": now_ms()}
        if request.state_key is not None:
            pdu["state_key"] = request.state_key
        return StoredEvent(f"${random_string(43)}", room_id, 0, 0, pdu, {}, None, None,
                           None)
    return None


def suspended_error() -> MatrixError:
    return MatrixError(403, "M_USER_SUSPENDED",
                       "This action is not allowed while the account is suspended")


def is_invite(request: EventRequest) -> bool:
    return request.event_type == "m.room.member" and \
        request.content.get("membership") == "invite" and request.state_key != request.sender
