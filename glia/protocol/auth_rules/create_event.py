"""The authorization rule for ``m.room.create``: the first event of a room."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia.protocol.auth_rules.room import domain_of, reject
from glia.protocol.events import server_of
from glia.protocol.room_versions import RoomVersion, get_room_version


def check_create(
    event: Mapping[str, Any], content: Mapping[str, Any], sender_domain: str, rv: RoomVersion
) -> None:
    if event.get("prev_events"):
        raise reject("m.room.create must not have prev_events")
    if rv.room_id_is_create_hash:
        if "room_id" in event:
            raise reject("m.room.create must not have a room_id in this room version")
    else:
        room_id = event.get("room_id")
        if not isinstance(room_id, str) or ":" not in room_id:
            raise reject("m.room.create has no valid room_id")
        if server_of(room_id) != sender_domain:
            raise reject("room ID and sender of m.room.create are on different servers")
    if "room_version" in content and get_room_version(content["room_version"]) is None:
        raise reject("m.room.create names an unknown room version")
    if rv.create_has_creator and "creator" not in content:
        raise reject("m.room.create has no creator")
    if rv.privileged_creators and "additional_creators" in content:
        extra = content["additional_creators"]
        if not isinstance(extra, list):
            raise reject("additional_creators must be a list of user IDs")
        for user_id in extra:
            domain_of(user_id)
