"""Reading ``m.room.power_levels`` content: user levels, required levels, validation.

All functions take the *content* of the power levels event (or None when the room has
none) so the auth rules, state resolution and services read levels one way. Old room
versions allow string (v1–v9) and float (v1–v5) values; they are parsed here so no
caller ever sees them. In v12 the room creators have an infinite level (``math.inf``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from typing import Any, Final, Literal

from glia.ids import InvalidId, parse_user_id
from glia.protocol.room_versions import RoomVersion

#: v12 creators outrank every integer level.
INFINITE_POWER_LEVEL: Final = math.inf
#: Without any power levels event, the creator has 100 (v1–v11) and others 0.
CREATOR_LEVEL_WITHOUT_POWER_LEVELS: Final = 100

Action = Literal["invite", "kick", "ban", "redact"]
ACTION_DEFAULTS: Final[dict[str, int]] = {"invite": 0, "kick": 50, "ban": 50, "redact": 50}
USERS_DEFAULT: Final = 0
EVENTS_DEFAULT: Final = 0
STATE_DEFAULT: Final = 50
NOTIFICATION_DEFAULTS: Final[dict[str, int]] = {"room": 50}

#: The top-level integer properties the auth rules compare.
SCALAR_KEYS: Final = (
    "users_default",
    "events_default",
    "state_default",
    "ban",
    "redact",
    "kick",
    "invite",
)

# v1–v9 "stringy" levels: optional surrounding whitespace, one sign, base-10 digits.
_STRING_LEVEL = re.compile(r"\s*[+-]?[0-9]+\s*")


def parse_level(value: Any, room_version: RoomVersion) -> int | None:
    """The integer a power level value stands for in this room version, or None if invalid.

    v10+: integers only. v1–v9: also integer strings (``" +0100 "``). v1–v5: also finite
    floats, truncated toward zero.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if room_version.enforce_int_power_levels:
        return None
    if isinstance(value, str):
        return int(value.strip()) if _STRING_LEVEL.fullmatch(value) else None
    if isinstance(value, float) and room_version.float_power_levels and math.isfinite(value):
        return int(value)
    return None


def room_creators(
    create_event: Mapping[str, Any] | None, room_version: RoomVersion
) -> frozenset[str]:
    """Who created the room: ``content.creator`` (v1–v10), ``sender`` (v11), or ``sender``
    plus ``content.additional_creators`` (v12)."""
    if create_event is None:
        return frozenset()
    content = create_event.get("content")
    if not isinstance(content, Mapping):
        content = {}
    if room_version.create_has_creator:
        creator = content.get("creator")
        return frozenset({creator}) if isinstance(creator, str) else frozenset()
    creators = {create_event["sender"]} if isinstance(create_event.get("sender"), str) else set()
    if room_version.privileged_creators:
        extra = content.get("additional_creators")
        if isinstance(extra, list):
            creators.update(u for u in extra if isinstance(u, str))
    return frozenset(creators)


def user_level(
    pl_content: Mapping[str, Any] | None,
    user_id: str,
    creators: Collection[str],
    room_version: RoomVersion,
) -> float:
    """The power level of ``user_id``: an int, or ``math.inf`` for a v12 creator."""
    if room_version.privileged_creators and user_id in creators:
        return INFINITE_POWER_LEVEL
    if pl_content is None:
        return CREATOR_LEVEL_WITHOUT_POWER_LEVELS if user_id in creators else USERS_DEFAULT
    users = pl_content.get("users")
    if isinstance(users, Mapping) and user_id in users:
        level = parse_level(users[user_id], room_version)
        if level is not None:
            return level
    return _scalar(pl_content, "users_default", USERS_DEFAULT, room_version)


def _scalar(
    pl_content: Mapping[str, Any] | None, key: str, default: int, room_version: RoomVersion
) -> int:
    if pl_content is None or key not in pl_content:
        return default
    level = parse_level(pl_content[key], room_version)
    return default if level is None else level


def event_level(
    pl_content: Mapping[str, Any] | None,
    event_type: str,
    is_state: bool,
    room_version: RoomVersion,
) -> int:
    """The *required power level* to send ``event_type`` (``events``, else the default)."""
    if pl_content is not None:
        events = pl_content.get("events")
        if isinstance(events, Mapping) and event_type in events:
            level = parse_level(events[event_type], room_version)
            if level is not None:
                return level
    if is_state:
        return _scalar(pl_content, "state_default", STATE_DEFAULT, room_version)
    return _scalar(pl_content, "events_default", EVENTS_DEFAULT, room_version)


def action_level(
    pl_content: Mapping[str, Any] | None, action: Action, room_version: RoomVersion
) -> int:
    """The invite (default 0), kick, ban or redact (default 50) level."""
    return _scalar(pl_content, action, ACTION_DEFAULTS[action], room_version)


def notification_level(
    pl_content: Mapping[str, Any] | None, key: str, room_version: RoomVersion
) -> int:
    """The level needed to trigger a notification kind, e.g. ``"room"`` for ``@room``."""
    default = NOTIFICATION_DEFAULTS.get(key, 50)
    if pl_content is None:
        return default
    notifications = pl_content.get("notifications")
    if isinstance(notifications, Mapping) and key in notifications:
        level = parse_level(notifications[key], room_version)
        if level is not None:
            return level
    return default


def power_levels_content_error(
    content: Mapping[str, Any],
    room_version: RoomVersion,
    creators: Collection[str] = (),
) -> str | None:
    """Why ``content`` is not an acceptable power levels content, or None if it is.

    Every level must parse in this room version (v10+: integers only), ``events`` and
    ``notifications`` must be objects of levels, ``users`` an object from valid user IDs
    to levels, and in v12 ``users`` must not list a creator.
    """
    for key in SCALAR_KEYS:
        if key in content and parse_level(content[key], room_version) is None:
            return f"'{key}' is not a valid power level"
    for key in ("events", "notifications"):
        if key not in content:
            continue
        mapping = content[key]
        if not isinstance(mapping, Mapping):
            return f"'{key}' must be an object"
        for name, value in mapping.items():
            if parse_level(value, room_version) is None:
                return f"'{key}.{name}' is not a valid power level"
    if "users" in content:
        users = content["users"]
        if not isinstance(users, Mapping):
            return "'users' must be an object"
        for user_id, value in users.items():
            try:
                parse_user_id(user_id)
            except InvalidId:
                return f"'{user_id}' in 'users' is not a valid user ID"
            if parse_level(value, room_version) is None:
                return f"'users.{user_id}' is not a valid power level"
            if room_version.privileged_creators and user_id in creators:
                return f"room creator {user_id} cannot be listed in 'users'"
    return None


def default_power_levels_content(
    creator: str,
    room_version: RoomVersion,
    *,
    extra_users: Mapping[str, int] | None = None,
    invite: int = 0,
) -> dict[str, Any]:
    """The ``m.room.power_levels`` content a new room starts with: Synapse's, key for key
    (admin tools show it as stored, and compare), which leaves the spec's defaults
    (``notifications.room`` 50, ``m.room.topic`` at ``state_default``) implicit.

    Before v12 the creator is listed at 100; in v12 creators have infinite power and may
    not be listed, and ``m.room.tombstone`` must require more than ``state_default``.
    """
    users: dict[str, int] = {}
    if not room_version.privileged_creators:
        users[creator] = 100
    users.update(extra_users or {})
    return {
        "users": users,
        "users_default": USERS_DEFAULT,
        "events": {
            "m.room.name": 50,
            "m.room.avatar": 50,
            "m.room.canonical_alias": 50,
            "m.room.power_levels": 100,
            "m.room.history_visibility": 100,
            "m.room.server_acl": 100,
            "m.room.encryption": 100,
            "m.room.tombstone": 150 if room_version.privileged_creators else 100,
        },
        "events_default": EVENTS_DEFAULT,
        "state_default": STATE_DEFAULT,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": invite,
        "historical": 100,
    }
