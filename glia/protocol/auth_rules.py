"""The authorization rules: may this event exist in a room with this state?

One function, :func:`check_auth`, covers room versions 1–12 by reading the version's
flags. It sees only the state the rules need (the "auth state"), keyed by
``(type, state_key)``, so the same check serves every use: against an event's own
``auth_events``, against the state before it, against current state (soft failure) and
inside state resolution. In v12 the ``m.room.create`` event is never an auth event, but
callers still put it under ``("m.room.create", "")`` so every version has one shape.

What this module does *not* do: tell whether auth events were themselves rejected (the
caller knows, rule "auth events must not be rejected"), and verify cryptographic
signatures. For ``join_authorised_via_users_server`` it only checks that the
authorising server's signature is *present*; :func:`glia.protocol.signing.
verify_event_signatures` must have verified it (it requires that server), so events
must be signed before they are checked here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from glia.errors import AuthRuleError
from glia.ids import InvalidId, parse_user_id
from glia.protocol.events import (
    StateKey,
    get_event_id,
    prev_event_ids,
    room_id_for_v12_create,
    server_of,
)
from glia.protocol.power_levels import (
    SCALAR_KEYS,
    action_level,
    event_level,
    parse_level,
    power_levels_content_error,
    room_creators,
    user_level,
)
from glia.protocol.room_versions import RoomVersion, get_room_version
from glia.protocol.signing import third_party_signed_is_valid

AuthState = Mapping[StateKey, Mapping[str, Any]]

CREATE_KEY: Final = ("m.room.create", "")
POWER_LEVELS_KEY: Final = ("m.room.power_levels", "")
JOIN_RULES_KEY: Final = ("m.room.join_rules", "")


def _reject(reason: str) -> AuthRuleError:
    return AuthRuleError(reason)


# --- auth events selection ------------------------------------------------------------


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
            raise _reject("m.room.create must not have auth events")
        return {}
    allowed = set(auth_types_for_pdu(event, room_version))
    state: dict[StateKey, Mapping[str, Any]] = {}
    for auth_event in auth_events:
        key = (str(auth_event.get("type")), str(auth_event.get("state_key")))
        if "state_key" not in auth_event:
            raise _reject("auth event is not a state event")
        if key in state:
            raise _reject(f"duplicate auth event for {key}")
        if key not in allowed:
            raise _reject(f"auth event {key} is not needed to authorise this event")
        if auth_event.get("room_id") != event.get("room_id"):
            raise _reject("auth event belongs to another room")
        state[key] = auth_event
    if room_version.create_in_auth_events and CREATE_KEY not in state:
        raise _reject("no m.room.create event among the auth events")
    return state


# --- helpers --------------------------------------------------------------------------


def _content(event: Mapping[str, Any]) -> Mapping[str, Any]:
    content = event.get("content")
    return content if isinstance(content, Mapping) else {}


def _domain(user_id: object) -> str:
    if not isinstance(user_id, str):
        raise _reject("sender is not a user ID")
    try:
        return parse_user_id(user_id).domain
    except InvalidId as e:
        raise _reject(f"invalid user ID {user_id!r}") from e


def _membership(auth_state: AuthState, user_id: str) -> str | None:
    member = auth_state.get(("m.room.member", user_id))
    if member is None:
        return None
    membership = _content(member).get("membership")
    return membership if isinstance(membership, str) else None


def _join_rule(auth_state: AuthState) -> str:
    """The room's join rule; a room without one behaves as invite-only."""
    event = auth_state.get(JOIN_RULES_KEY)
    rule = _content(event).get("join_rule") if event is not None else None
    return rule if isinstance(rule, str) else "invite"


def _first_creator(create: Mapping[str, Any], room_version: RoomVersion) -> object:
    """The creator whose join directly follows the create event."""
    if room_version.create_has_creator:
        return _content(create).get("creator")
    return create.get("sender")


class _Room:
    """The auth state plus the derived values most rules need."""

    def __init__(self, auth_state: AuthState, create: Mapping[str, Any], rv: RoomVersion):
        self.state = auth_state
        self.create = create
        self.rv = rv
        self.creators: Collection[str] = room_creators(create, rv)
        pl_event = auth_state.get(POWER_LEVELS_KEY)
        self.pl_event = pl_event
        self.pl: Mapping[str, Any] | None = _content(pl_event) if pl_event is not None else None

    def level(self, user_id: str) -> float:
        return user_level(self.pl, user_id, self.creators, self.rv)

    def membership(self, user_id: str) -> str | None:
        return _membership(self.state, user_id)


# --- the rules ------------------------------------------------------------------------


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
        raise _reject("event has no type or sender")
    sender_domain = _domain(sender)
    content = event.get("content")
    if not isinstance(content, Mapping):
        raise _reject("event content is not an object")

    if event_type == "m.room.create":
        _check_create(event, content, sender_domain, rv)
        return

    create = auth_state.get(CREATE_KEY)
    if create is None:
        raise _reject("no m.room.create event in the room")
    room_id = event.get("room_id")
    if rv.room_id_is_create_hash and room_id != room_id_for_v12_create(
        get_event_id(create, rv)
    ):
        raise _reject("room ID does not match the room's m.room.create event")
    for key, state_event in auth_state.items():
        if "room_id" in state_event and state_event.get("room_id") != room_id:
            raise _reject(f"auth event {key} belongs to another room")

    if _content(create).get("m.federate") is False and sender_domain != _domain(
        create.get("sender")
    ):
        raise _reject("room is not federated and the sender is from another server")

    if rv.special_case_aliases_auth and event_type == "m.room.aliases":
        state_key = event.get("state_key")
        if not isinstance(state_key, str):
            raise _reject("m.room.aliases event has no state_key")
        if state_key != sender_domain:
            raise _reject("m.room.aliases state_key must be the sender's server")
        return

    room = _Room(auth_state, create, rv)

    if event_type == "m.room.member":
        _check_member(event, content, sender, room)
        return

    if room.membership(sender) != "join":
        raise _reject(f"{sender} is not joined to the room")
    sender_level = room.level(sender)

    if event_type == "m.room.third_party_invite":
        if sender_level >= action_level(room.pl, "invite", rv):
            return
        raise _reject(f"{sender} may not invite")

    is_state = "state_key" in event
    if event_level(room.pl, event_type, is_state, rv) > sender_level:
        raise _reject(f"{sender} has too low a power level to send {event_type}")

    state_key = event.get("state_key")
    if isinstance(state_key, str) and state_key.startswith("@") and state_key != sender:
        raise _reject("state_key starting with @ must be the sender")

    if event_type == "m.room.power_levels":
        _check_power_levels(content, sender, sender_level, room)
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
        raise _reject(f"{sender} may not redact that event")


def _check_create(
    event: Mapping[str, Any], content: Mapping[str, Any], sender_domain: str, rv: RoomVersion
) -> None:
    if event.get("prev_events"):
        raise _reject("m.room.create must not have prev_events")
    if rv.room_id_is_create_hash:
        if "room_id" in event:
            raise _reject("m.room.create must not have a room_id in this room version")
    else:
        room_id = event.get("room_id")
        if not isinstance(room_id, str) or ":" not in room_id:
            raise _reject("m.room.create has no valid room_id")
        if server_of(room_id) != sender_domain:
            raise _reject("room ID and sender of m.room.create are on different servers")
    if "room_version" in content and get_room_version(content["room_version"]) is None:
        raise _reject("m.room.create names an unknown room version")
    if rv.create_has_creator and "creator" not in content:
        raise _reject("m.room.create has no creator")
    if rv.privileged_creators and "additional_creators" in content:
        extra = content["additional_creators"]
        if not isinstance(extra, list):
            raise _reject("additional_creators must be a list of user IDs")
        for user_id in extra:
            _domain(user_id)


def _check_member(
    event: Mapping[str, Any], content: Mapping[str, Any], sender: str, room: _Room
) -> None:
    rv = room.rv
    target = event.get("state_key")
    membership = content.get("membership")
    if not isinstance(target, str) or not isinstance(membership, str):
        raise _reject("m.room.member needs a state_key and a membership")

    if rv.restricted_join_rule and "join_authorised_via_users_server" in content:
        via_server = _domain(content["join_authorised_via_users_server"])
        signatures = event.get("signatures")
        if not isinstance(signatures, Mapping) or not signatures.get(via_server):
            raise _reject(f"event is not signed by the authorising server {via_server}")

    sender_membership = room.membership(sender)
    target_membership = room.membership(target)
    join_rule = _join_rule(room.state)

    if membership == "join":
        prevs = prev_event_ids(event)
        if (
            len(prevs) == 1
            and target == _first_creator(room.create, rv)
            and prevs[0] == get_event_id(room.create, rv)
        ):
            return
        if sender != target:
            raise _reject("cannot force another user to join")
        if sender_membership == "ban":
            raise _reject(f"{sender} is banned from the room")
        if join_rule == "invite" or (rv.knock_join_rule and join_rule == "knock"):
            if sender_membership in ("invite", "join"):
                return
            raise _reject(f"{sender} is not invited to this room")
        if (rv.restricted_join_rule and join_rule == "restricted") or (
            rv.knock_restricted_join_rule and join_rule == "knock_restricted"
        ):
            if sender_membership in ("invite", "join"):
                return
            via = content.get("join_authorised_via_users_server")
            if not isinstance(via, str):
                raise _reject("restricted join without an authorising user")
            if room.membership(via) != "join":
                raise _reject(f"authorising user {via} is not joined to the room")
            if room.level(via) < action_level(room.pl, "invite", rv):
                raise _reject(f"authorising user {via} may not invite")
            return
        if join_rule == "public":
            return
        raise _reject(f"join rule {join_rule!r} does not allow {sender} to join")

    if membership == "invite":
        if "third_party_invite" in content:
            _check_third_party_invite(content, sender, target, target_membership, room)
            return
        if sender_membership != "join":
            raise _reject(f"{sender} is not joined to the room")
        if target_membership in ("join", "ban"):
            raise _reject(f"{target} is already {target_membership}")
        if room.level(sender) >= action_level(room.pl, "invite", rv):
            return
        raise _reject(f"{sender} may not invite")

    if membership == "leave":
        if sender == target:
            allowed = ("invite", "join", "knock") if rv.knock_join_rule else ("invite", "join")
            if sender_membership in allowed:
                return
            raise _reject(f"{sender} cannot leave a room they are not in")
        if sender_membership != "join":
            raise _reject(f"{sender} is not joined to the room")
        sender_level = room.level(sender)
        if target_membership == "ban" and sender_level < action_level(room.pl, "ban", rv):
            raise _reject(f"{sender} may not unban")
        if sender_level >= action_level(room.pl, "kick", rv) and room.level(target) < sender_level:
            return
        raise _reject(f"{sender} may not kick {target}")

    if membership == "ban":
        if sender_membership != "join":
            raise _reject(f"{sender} is not joined to the room")
        sender_level = room.level(sender)
        if sender_level >= action_level(room.pl, "ban", rv) and room.level(target) < sender_level:
            return
        raise _reject(f"{sender} may not ban {target}")

    if membership == "knock" and rv.knock_join_rule:
        knock_rules = ("knock", "knock_restricted") if rv.knock_restricted_join_rule else ("knock",)
        if join_rule not in knock_rules:
            raise _reject("this room does not accept knocks")
        if sender != target:
            raise _reject("cannot knock on behalf of another user")
        if sender_membership not in ("ban", "invite", "join"):
            return
        raise _reject(f"{sender} cannot knock while {sender_membership}")

    raise _reject(f"unknown membership {membership!r}")


def _check_third_party_invite(
    content: Mapping[str, Any],
    sender: str,
    target: str,
    target_membership: str | None,
    room: _Room,
) -> None:
    if target_membership == "ban":
        raise _reject(f"{target} is banned from the room")
    tpi = content["third_party_invite"]
    signed = tpi.get("signed") if isinstance(tpi, Mapping) else None
    if not isinstance(signed, Mapping):
        raise _reject("third_party_invite has no signed object")
    mxid, token = signed.get("mxid"), signed.get("token")
    if not isinstance(mxid, str) or not isinstance(token, str):
        raise _reject("third_party_invite.signed needs mxid and token")
    if mxid != target:
        raise _reject("third_party_invite mxid does not match the invitee")
    invite_event = room.state.get(("m.room.third_party_invite", token))
    if invite_event is None:
        raise _reject("no m.room.third_party_invite matches the token")
    if invite_event.get("sender") != sender:
        raise _reject("the third-party invite was sent by someone else")
    if not third_party_signed_is_valid(signed, _content(invite_event)):
        raise _reject("third_party_invite is not signed by any of the invite's keys")


def _levels_map(content: Mapping[str, Any], key: str, rv: RoomVersion) -> dict[str, int]:
    mapping = content.get(key)
    if not isinstance(mapping, Mapping):
        return {}
    parsed = {name: parse_level(value, rv) for name, value in mapping.items()}
    return {name: level for name, level in parsed.items() if level is not None}


def _check_power_levels(
    content: Mapping[str, Any], sender: str, sender_level: float, room: _Room
) -> None:
    rv = room.rv
    error = power_levels_content_error(content, rv, room.creators)
    if error:
        raise _reject(error)
    if room.pl is None:
        return
    old = room.pl

    for key in SCALAR_KEYS:
        old_level = parse_level(old[key], rv) if key in old else None
        new_level = parse_level(content[key], rv) if key in content else None
        if old_level == new_level:
            continue
        if old_level is not None and old_level > sender_level:
            raise _reject(f"{sender} may not change '{key}' from above their own level")
        if new_level is not None and new_level > sender_level:
            raise _reject(f"{sender} may not raise '{key}' above their own level")

    mapping_keys = ["events"]
    if rv.limit_notifications_power_levels:
        mapping_keys.append("notifications")
    for key in mapping_keys:
        old_map, new_map = _levels_map(old, key, rv), _levels_map(content, key, rv)
        for name in old_map.keys() | new_map.keys():
            old_level, new_level = old_map.get(name), new_map.get(name)
            if old_level == new_level:
                continue
            if old_level is not None and old_level > sender_level:
                raise _reject(f"{sender} may not change '{key}.{name}' from above their level")
            if new_level is not None and new_level > sender_level:
                raise _reject(f"{sender} may not raise '{key}.{name}' above their level")

    old_users, new_users = _levels_map(old, "users", rv), _levels_map(content, "users", rv)
    for user_id in old_users.keys() | new_users.keys():
        old_level, new_level = old_users.get(user_id), new_users.get(user_id)
        if old_level == new_level:
            continue
        if user_id != sender and old_level is not None and old_level >= sender_level:
            raise _reject(f"{sender} may not change the level of {user_id}")
        if new_level is not None and new_level > sender_level:
            raise _reject(f"{sender} may not raise {user_id} above their own level")
