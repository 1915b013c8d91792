"""What every authorization rule reads: the auth state and the values derived from it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

from glia.errors import AuthRuleError
from glia.ids import InvalidId, parse_user_id
from glia.protocol.events import StateKey
from glia.protocol.power_levels import room_creators, user_level
from glia.protocol.room_versions import RoomVersion

AuthState = Mapping[StateKey, Mapping[str, Any]]

CREATE_KEY: Final = ("m.room.create", "")
POWER_LEVELS_KEY: Final = ("m.room.power_levels", "")
JOIN_RULES_KEY: Final = ("m.room.join_rules", "")


def reject(reason: str) -> AuthRuleError:
    return AuthRuleError(reason)


def content_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    content = event.get("content")
    return content if isinstance(content, Mapping) else {}


def domain_of(user_id: object) -> str:
    if not isinstance(user_id, str):
        raise reject("sender is not a user ID")
    try:
        return parse_user_id(user_id).domain
    except InvalidId as e:
        raise reject(f"invalid user ID {user_id!r}") from e


def membership_of(auth_state: AuthState, user_id: str) -> str | None:
    member = auth_state.get(("m.room.member", user_id))
    if member is None:
        return None
    membership = content_of(member).get("membership")
    return membership if isinstance(membership, str) else None


def join_rule_of(auth_state: AuthState) -> str:
    """The room's join rule; a room without one behaves as invite-only."""
    event = auth_state.get(JOIN_RULES_KEY)
    rule = content_of(event).get("join_rule") if event is not None else None
    return rule if isinstance(rule, str) else "invite"


def first_creator(create: Mapping[str, Any], room_version: RoomVersion) -> object:
    """The creator whose join directly follows the create event."""
    if room_version.create_has_creator:
        return content_of(create).get("creator")
    return create.get("sender")


class Room:
    """The auth state plus the derived values most rules need."""

    def __init__(self, auth_state: AuthState, create: Mapping[str, Any], rv: RoomVersion):
        self.state = auth_state
        self.create = create
        self.rv = rv
        self.creators: Collection[str] = room_creators(create, rv)
        pl_event = auth_state.get(POWER_LEVELS_KEY)
        self.pl_event = pl_event
        self.pl: Mapping[str, Any] | None = content_of(pl_event) if pl_event is not None else None

    def level(self, user_id: str) -> float:
        return user_level(self.pl, user_id, self.creators, self.rv)

    def membership(self, user_id: str) -> str | None:
        return membership_of(self.state, user_id)
