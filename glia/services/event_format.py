"""The client format of room events (the spec's ClientEvent), shared by every read path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia.storage.events import StoredEvent

__all__ = ["ClientEvent", "client_event", "legacy_client_event"]

#: An event in the client format: free-form JSON (its content has any shape), built once
#: here and answered as it is.
ClientEvent = dict[str, Any]


def client_event(event: StoredEvent, viewer: tuple[str, str] | None,
                 now: int | None = None, *,
                 relations: Mapping[str, Any] | None = None) -> ClientEvent:
    """The client format of an event; ``viewer`` = (user_id, device_id) who asks;
    ``relations`` the bundled aggregations, if any."""
    pdu = event.pdu
    out: ClientEvent = {
        "content": _content(pdu),
        "event_id": event.event_id,
        "origin_server_ts": pdu["origin_server_ts"],
        "room_id": event.room_id,
        "sender": pdu["sender"],
        "type": pdu["type"],
    }
    if "state_key" in pdu:
        out["state_key"] = pdu["state_key"]
    if "redacts" in pdu:
        out["redacts"] = pdu["redacts"]
    elif pdu["type"] == "m.room.redaction" and isinstance(out["content"].get("redacts"), str):
        # Room versions 11+ keep ``redacts`` in content; clients written before them read
        # it at the top level, so the Client-Server API serves it in both places.
        out["redacts"] = out["content"]["redacts"]
    unsigned = dict(event.unsigned)
    if now is not None:
        unsigned["age"] = max(0, now - int(pdu["origin_server_ts"]))
    if viewer is not None and event.txn_id is not None and \
            viewer == (event.sender, event.sender_device):
        unsigned["transaction_id"] = event.txn_id
    if relations:
        unsigned["m.relations"] = relations
    if unsigned:
        out["unsigned"] = unsigned
    return out


def _content(pdu: Mapping[str, Any]) -> dict[str, Any]:
    """The event's content; an older-version redaction also gets its top-level
    ``redacts`` in content, where clients written for room version 11 look for it."""
    content = pdu.get("content", {})
    if pdu["type"] == "m.room.redaction" and isinstance(pdu.get("redacts"), str) \
            and isinstance(content, dict) and "redacts" not in content:
        return {**content, "redacts": pdu["redacts"]}
    return content if isinstance(content, dict) else {}


#: What Synapse's legacy ("v1") client format copies from ``unsigned`` to the top level.
_LEGACY_COPIED = ("age", "redacted_because", "replaces_state", "prev_content",
                  "invite_room_state", "knock_room_state")


def legacy_client_event(event: ClientEvent) -> ClientEvent:
    """Synapse's legacy client format, which its admin room endpoints (``messages``,
    ``context``, ``state``) still answer and admin tools read: the client format plus
    ``user_id`` (the sender) and the keys above copied up from ``unsigned``."""
    out = dict(event)
    out["user_id"] = event["sender"]
    unsigned = event.get("unsigned") or {}
    for key in _LEGACY_COPIED:
        if key in unsigned:
            out[key] = unsigned[key]
    return out
