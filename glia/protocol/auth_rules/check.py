"""The common authorization rules every event passes, and the dispatch to the rules of
its event type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia.protocol.auth_rules.create_event import check_create
from glia.protocol.auth_rules.member_event import check_member
from glia.protocol.auth_rules.power_levels_event import check_power_levels
from glia.protocol.auth_rules.room import CREATE_KEY, AuthState, Room, content_of, domain_of, reject
from glia.protocol.events import get_event_id, room_id_for_v12_create, server_of
from glia.protocol.power_levels import action_level, event_level
from glia.protocol.room_versions import RoomVersion


def check_auth(
    event: Mapping[str, Any], auth_state: AuthState, room_version: RoomVersion
) -> None:
    """Raise :class:`AuthRuleError` unless the authorization rules allow ``event``.

    ``auth_state`` maps ``(type, state_key)`` to the state events the rules consult
    (extra entries are harmless). Includes ``m.room.create`` in every room version.
    """
    rv = room_version
    event_type = event.get("type")
    sender = event.get("sender")
    if not isinstance(event_type, str) or not isinstance(sender, str):
        raise reject("event has no type or sender")
    sender_domain = domain_of(sender)
    content = event.get("content")
    if not isinstance(content, Mapping):
        raise reject("event content is not an object")

    if event_type == "m.room.create":
        check_create(event, content, sender_domain, rv)
        return

    create = auth_state.get(CREATE_KEY)
    if create is None:
        raise reject("no m.room.create event in the room")
    room_id = event.get("room_id")
    if rv.room_id_is_create_hash and room_id != room_id_for_v12_create(
        get_event_id(create, rv)
    ):
        raise reject("room ID does not match the room's m.room.create event")
    for key, state_event in auth_state.items():
        if "room_id" in state_event and state_event.get("room_id") != room_id:
            raise reject(f"auth event {key} belongs to another room")

    if content_of(create).get("m.federate") is False and sender_domain != domain_of(
        create.get("sender")
    ):
        raise reject("room is not federated and the sender is from another server")

    if rv.special_case_aliases_auth and event_type == "m.room.aliases":
        state_key = event.get("state_key")
        if not isinstance(state_key, str):
            raise reject("m.room.aliases event has no state_key")
        if state_key != sender_domain:
            raise reject("m.room.aliases state_key must be the sender's server")
        return

    room = Room(auth_state, create, rv)

    if event_type == "m.room.member":
        check_member(event, content, sender, room)
        return

    if room.membership(sender) != "join":
        raise reject(f"{sender} is not joined to the room")
    sender_level = room.level(sender)

    if event_type == "m.room.third_party_invite":
        if sender_level >= action_level(room.pl, "invite", rv):
            return
        raise reject(f"{sender} may not invite")

    is_state = "state_key" in event
    if event_level(room.pl, event_type, is_state, rv) > sender_level:
        raise reject(f"{sender} has too low a power level to send {event_type}")

    state_key = event.get("state_key")
    if isinstance(state_key, str) and state_key.startswith("@") and state_key != sender:
        raise reject("state_key starting with @ must be the sender")

    if event_type == "m.room.power_levels":
        check_power_levels(content, sender, sender_level, room)
        return

    if rv.redaction_auth_rule and event_type == "m.room.redaction":
        if sender_level >= action_level(room.pl, "redact", rv):
            return
        redacts, event_id = event.get("redacts"), event.get("event_id")
        if (
            isinstance(redacts, str)
            and isinstance(event_id, str)
            and ":" in redacts
            and ":" in event_id
            and server_of(redacts) == server_of(event_id)
        ):
            return
        raise reject(f"{sender} may not redact that event")
