"""The spec's "auth events selection": which state events authorise a new event, and
the shape check of an event's own ``auth_events``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from glia.protocol.auth_rules.room import CREATE_KEY, JOIN_RULES_KEY, POWER_LEVELS_KEY, reject
from glia.protocol.events import StateKey
from glia.protocol.room_versions import RoomVersion


def auth_types_for_event(
    event_type: str,
    sender: str,
    state_key: str | None,
    content: Mapping[str, Any],
    room_version: RoomVersion,
) -> list[StateKey]:
    """The state keys whose current events go into the new event's ``auth_events``.

    The spec's "auth events selection": the create event (not in v12, where the room ID
    implies it), power levels, the sender's membership and, for ``m.room.member``, the
    target's membership, the join rules (join/invite/knock), the third-party invite named
    by the invite's token and the authorising user's membership for restricted joins.
    """
    if event_type == "m.room.create":
        return []
    keys: list[StateKey] = []
    if room_version.create_in_auth_events:
        keys.append(CREATE_KEY)
    keys.append(POWER_LEVELS_KEY)
    keys.append(("m.room.member", sender))
    if event_type == "m.room.member" and state_key is not None:
        membership = content.get("membership")
        if ("m.room.member", state_key) not in keys:
            keys.append(("m.room.member", state_key))
        if membership in ("join", "invite", "knock"):
            keys.append(JOIN_RULES_KEY)
        if membership == "invite":
            tpi = content.get("third_party_invite")
            signed = tpi.get("signed") if isinstance(tpi, Mapping) else None
            token = signed.get("token") if isinstance(signed, Mapping) else None
            if isinstance(token, str):
                keys.append(("m.room.third_party_invite", token))
        if membership == "join" and room_version.restricted_join_rule:
            via = content.get("join_authorised_via_users_server")
            if isinstance(via, str) and ("m.room.member", via) not in keys:
                keys.append(("m.room.member", via))
    return keys


def auth_types_for_pdu(event: Mapping[str, Any], room_version: RoomVersion) -> list[StateKey]:
    """:func:`auth_types_for_event` for a whole PDU."""
    content = event.get("content")
    state_key = event.get("state_key")
    return auth_types_for_event(
        str(event.get("type")),
        str(event.get("sender")),
        state_key if isinstance(state_key, str) else None,
        content if isinstance(content, Mapping) else {},
        room_version,
    )


def check_auth_events(
    event: Mapping[str, Any],
    auth_events: Sequence[Mapping[str, Any]],
    room_version: RoomVersion,
) -> dict[StateKey, Mapping[str, Any]]:
    """Check the shape of an event's ``auth_events`` and return them as an auth state.

    Rejects duplicates, entries the selection algorithm would not pick, events from
    another room and (v1–v11) a missing create event. The caller must already have
    excluded rejected auth events, and in v12 adds the create event to the result.
    """
    if event.get("type") == "m.room.create":
        if auth_events:
            raise reject("m.room.create must not have auth events")
        return {}
    allowed = set(auth_types_for_pdu(event, room_version))
    state: dict[StateKey, Mapping[str, Any]] = {}
    for auth_event in auth_events:
        key = (str(auth_event.get("type")), str(auth_event.get("state_key")))
        if "state_key" not in auth_event:
            raise reject("auth event is not a state event")
        if key in state:
            raise reject(f"duplicate auth event for {key}")
        if key not in allowed:
            raise reject(f"auth event {key} is not needed to authorise this event")
        if auth_event.get("room_id") != event.get("room_id"):
            raise reject("auth event belongs to another room")
        state[key] = auth_event
    if room_version.create_in_auth_events and CREATE_KEY not in state:
        raise reject("no m.room.create event among the auth events")
    return state
