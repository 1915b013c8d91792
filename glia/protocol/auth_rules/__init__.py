"""The authorization rules: may this event exist in a room with this state?

One function, :func:`check_auth`, covers room versions 1–12 by reading the version's
flags. It sees only the state the rules need (the "auth state"), keyed by
``(type, state_key)``, so the same check serves every use: against an event's own
``auth_events``, against the state before it, against current state (soft failure) and
inside state resolution. In v12 the ``m.room.create`` event is never an auth event, but
callers still put it under ``("m.room.create", "")`` so every version has one shape.

What this package does *not* do: tell whether auth events were themselves rejected (the
caller knows, rule "auth events must not be rejected"), and verify cryptographic
signatures. For ``join_authorised_via_users_server`` it only checks that the
authorising server's signature is *present*; :func:`glia.protocol.signing.
verify_event_signatures` must have verified it (it requires that server), so events
must be signed before they are checked here.

Modules follow the spec's sections: ``selection`` (auth events selection), ``check`` (the
rules every event passes, then dispatch by type), ``create_event``, ``member_event`` and
``power_levels_event`` (the per-type rules), ``room`` (the auth state they all read).
"""

from glia.protocol.auth_rules.check import check_auth
from glia.protocol.auth_rules.room import CREATE_KEY, JOIN_RULES_KEY, POWER_LEVELS_KEY, AuthState
from glia.protocol.auth_rules.selection import (
    auth_types_for_event,
    auth_types_for_pdu,
    check_auth_events,
)

__all__ = [
    "CREATE_KEY",
    "JOIN_RULES_KEY",
    "POWER_LEVELS_KEY",
    "AuthState",
    "auth_types_for_event",
    "auth_types_for_pdu",
    "check_auth",
    "check_auth_events",
]
