"""Room creation (``/createRoom``), in the spec's order of initial events."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import InvalidId, is_valid_room_alias, parse_user_id
from glia.protocol.power_levels import default_power_levels_content
from glia.protocol.room_versions import DEFAULT_ROOM_VERSION, get_room_version
from glia.services.events import EventRequest, EventsService
from glia.storage import Storage

PRESETS = {
    "private_chat": ("invite", "shared", "can_join"),
    "trusted_private_chat": ("invite", "shared", "can_join"),
    "public_chat": ("public", "shared", "forbidden"),
}


class RoomService:
    def __init__(self, config: Config, storage: Storage, events: EventsService) -> None:
        self._config = config
        self._storage = storage
        self._events = events

    async def create_room(self, creator: str, body: Mapping[str, Any]) -> str:
        version_id = body.get("room_version", self._default_version())
        version = get_room_version(version_id)
        if version is None:
            raise MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION",
                              f"Your homeserver does not support room version {version_id!r}")
        visibility = _opt(body, "visibility", str) or "private"
        if visibility not in ("public", "private"):
            raise errors.invalid_param("visibility must be 'public' or 'private'")
        preset = _opt(body, "preset", str) or (
            "public_chat" if visibility == "public" else "private_chat")
        if preset not in PRESETS:
            raise errors.invalid_param(f"Unknown preset {preset!r}")
        invite = _opt(body, "invite", list) or []
        for user_id in invite:
            try:
                parse_user_id(user_id)
            except (InvalidId, TypeError) as e:
                raise errors.invalid_param(f"Invalid user ID in invite: {user_id!r}") from e
        is_direct = _opt(body, "is_direct", bool) or False
        creation_content = dict(_opt(body, "creation_content", dict) or {})
        pl_override = _opt(body, "power_level_content_override", dict)
        initial_state = _opt(body, "initial_state", list) or []
        for item in initial_state:
            if not isinstance(item, dict) or not isinstance(item.get("type"), str) \
                    or not isinstance(item.get("content", {}), dict) \
                    or not isinstance(item.get("state_key", ""), str):
                raise MatrixError(400, "M_INVALID_ROOM_STATE",
                                  "initial_state entries need type, content, state_key")
        name = _opt(body, "name", str)
        topic = _opt(body, "topic", str)
        alias = None
        alias_name = _opt(body, "room_alias_name", str)
        if alias_name is not None:
            alias = f"#{alias_name}:{self._config.server_name}"
            if not is_valid_room_alias(alias) or any(c in alias_name for c in " :\t\n"):
                raise errors.invalid_param("Invalid characters in room alias")
            if await self._storage.directory.get_alias(alias) is not None:
                raise MatrixError(400, "M_ROOM_IN_USE", "Room alias already taken")

        create_content: dict[str, Any] = {**creation_content, "room_version": version.identifier}
        if version.privileged_creators and preset == "trusted_private_chat" and invite:
            extra = list(create_content.get("additional_creators", []))
            create_content["additional_creators"] = sorted(set(extra) | set(invite))
        join_rule, history, guest = PRESETS[preset]
        trusted = invite if preset == "trusted_private_chat" else []
        power_levels = default_power_levels_content(
            creator, version, invite=50 if preset == "public_chat" else 0,
            # v12 makes trusted invitees additional creators instead (above).
            extra_users=None if version.privileged_creators else dict.fromkeys(trusted, 100),
        )
        if pl_override:
            power_levels.update(copy.deepcopy(pl_override))

        def later(room_id: str) -> list[EventRequest]:
            events = [
                EventRequest(creator, "m.room.member", {"membership": "join"}, creator),
                EventRequest(creator, "m.room.power_levels", power_levels, ""),
            ]
            if alias is not None:
                events.append(EventRequest(creator, "m.room.canonical_alias",
                                           {"alias": alias}, ""))
            events += [
                EventRequest(creator, "m.room.join_rules", {"join_rule": join_rule}, ""),
                EventRequest(creator, "m.room.history_visibility",
                             {"history_visibility": history}, ""),
                EventRequest(creator, "m.room.guest_access", {"guest_access": guest}, ""),
            ]
            events += [EventRequest(creator, s["type"], s.get("content", {}),
                                    s.get("state_key", "")) for s in initial_state]
            if name is not None:
                events.append(EventRequest(creator, "m.room.name", {"name": name}, ""))
            if topic is not None:
                events.append(EventRequest(creator, "m.room.topic", {"topic": topic}, ""))
            for invitee in invite:
                content: dict[str, Any] = {"membership": "invite"}
                if is_direct:
                    content["is_direct"] = True
                events.append(EventRequest(creator, "m.room.member", content, invitee))
            return events

        room_id, _ = await self._events.create_room(creator, version, create_content, later,
                                                    alias)
        if visibility == "public":
            await self._storage.rooms.set_published(room_id, True)
        return room_id

    def _default_version(self) -> str:
        return DEFAULT_ROOM_VERSION


def _opt(body: Mapping[str, Any], key: str, kind: type) -> Any:
    """An optional field of a given JSON type (``M_BAD_JSON`` naming the field otherwise)."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        names = {str: "a string", list: "a list", dict: "an object", bool: "a boolean"}
        raise errors.bad_json(f"{key} must be {names.get(kind, kind.__name__)}")
    return value
