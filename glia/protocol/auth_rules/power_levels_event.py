"""The authorization rule for ``m.room.power_levels``: nobody grants or takes away more
power than they have."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia.protocol.auth_rules.room import Room, reject
from glia.protocol.power_levels import SCALAR_KEYS, parse_level, power_levels_content_error
from glia.protocol.room_versions import RoomVersion


def _levels_map(content: Mapping[str, Any], key: str, rv: RoomVersion) -> dict[str, int]:
    mapping = content.get(key)
    if not isinstance(mapping, Mapping):
        return {}
    parsed = {name: parse_level(value, rv) for name, value in mapping.items()}
    return {name: level for name, level in parsed.items() if level is not None}


def check_power_levels(
    content: Mapping[str, Any], sender: str, sender_level: float, room: Room
) -> None:
    rv = room.rv
    error = power_levels_content_error(content, rv, room.creators)
    if error:
        raise reject(error)
    if room.pl is None:
        return
    old = room.pl

    for key in SCALAR_KEYS:
        old_level = parse_level(old[key], rv) if key in old else None
        new_level = parse_level(content[key], rv) if key in content else None
        if old_level == new_level:
            continue
        if old_level is not None and old_level > sender_level:
            raise reject(f"{sender} may not change '{key}' from above their own level")
        if new_level is not None and new_level > sender_level:
            raise reject(f"{sender} may not raise '{key}' above their own level")

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
                raise reject(f"{sender} may not change '{key}.{name}' from above their level")
            if new_level is not None and new_level > sender_level:
                raise reject(f"{sender} may not raise '{key}.{name}' above their level")

    old_users, new_users = _levels_map(old, "users", rv), _levels_map(content, "users", rv)
    for user_id in old_users.keys() | new_users.keys():
        old_level, new_level = old_users.get(user_id), new_users.get(user_id)
        if old_level == new_level:
            continue
        if user_id != sender and old_level is not None and old_level >= sender_level:
            raise reject(f"{sender} may not change the level of {user_id}")
        if new_level is not None and new_level > sender_level:
            raise reject(f"{sender} may not raise {user_id} above their own level")
