"""Room creation (``/createRoom``, in the spec's order of initial events) and room
upgrades (``/rooms/{roomId}/upgrade``)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import msgspec

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import InvalidId, is_valid_room_alias, is_valid_room_id, parse_user_id
from glia.protocol.power_levels import (
    SCALAR_KEYS,
    default_power_levels_content,
    event_level,
    parse_level,
    room_creators,
    user_level,
)
from glia.protocol.room_versions import DEFAULT_ROOM_VERSION, RoomVersion, get_room_version
from glia.services.events import EventRequest, EventsService
from glia.services.federation.invites import Invites
from glia.services.profile import member_profile, member_profiles
from glia.storage import Storage, Stores

#: The state an upgrade copies to the replacement room (the spec's recommended list).
TRANSFERRED_STATE = (
    "m.room.server_acl", "m.room.encryption", "m.room.name", "m.room.avatar", "m.room.topic",
    "m.room.guest_access", "m.room.history_visibility", "m.room.join_rules",
)
#: Also copied when the room is a space: its children.
SPACE_CHILD = "m.space.child"

#: Per preset: join rule, history visibility, guest access (None: no
#: ``m.room.guest_access`` event at all, as Synapse does for public rooms, whose guests
#: then may not join since the spec's default is ``forbidden``).
PRESETS: dict[str, tuple[str, str, str | None]] = {
    "private_chat": ("invite", "shared", "can_join"),
    "trusted_private_chat": ("invite", "shared", "can_join"),
    "public_chat": ("public", "shared", None),
}


class InitialStateEvent(msgspec.Struct, frozen=True):
    """One ``initial_state`` entry of ``/createRoom``."""

    type: str
    content: dict[str, Any] = {}
    state_key: str = ""


class CreateRoom(msgspec.Struct, frozen=True, kw_only=True):
    """What ``/createRoom`` asks for (also the server's own rooms: server notices, the
    replacement room of a shutdown). Absent and ``null`` fields take the spec's
    defaults."""

    preset: Literal["private_chat", "trusted_private_chat", "public_chat"] | None = None
    visibility: Literal["public", "private"] | None = None
    invite: list[str] | None = None
    initial_state: list[InitialStateEvent] | None = None
    creation_content: dict[str, Any] | None = None
    power_level_content_override: dict[str, Any] | None = None
    room_version: str | None = None
    is_direct: bool | None = None
    name: str | None = None
    topic: str | None = None
    room_alias_name: str | None = None


class RoomService:
    def __init__(self, config: Config, storage: Storage, events: EventsService,
                 invites: Invites | None = None) -> None:
        """``invites`` sends the invites of other servers' users over federation."""
        self._config = config
        self._storage = storage
        self._events = events
        self._invites = invites
        self._upgrade_lock = asyncio.Lock()

    async def create_room(self, creator: str, command: CreateRoom,
                          in_tx: Callable[[Stores, str], Awaitable[None]] | None = None
                          ) -> str:
        version_id = command.room_version or self._default_version()
        version = get_room_version(version_id)
        if version is None:
            raise MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION",
                              f"Your homeserver does not support room version {version_id!r}")
        visibility = command.visibility or "private"
        preset = command.preset or (
            "public_chat" if visibility == "public" else "private_chat")
        invite = list(command.invite or [])
        for user_id in invite:
            try:
                parse_user_id(user_id)
            except InvalidId as e:
                raise errors.invalid_param(f"Invalid user ID in invite: {user_id!r}") from e
        is_direct = bool(command.is_direct)
        creation_content = dict(command.creation_content or {})
        pl_override = command.power_level_content_override
        initial_state = list(command.initial_state or [])
        name, topic = command.name, command.topic
        alias = None
        alias_name = command.room_alias_name
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
        if preset == "public_chat":
            power_levels["events"]["m.call.invite"] = 50  # Synapse's public preset
        if pl_override:
            power_levels.update(copy.deepcopy(pl_override))
        profiles = await member_profiles(self._storage, [creator, *invite])

        def later(room_id: str) -> list[EventRequest]:
            events = [
                EventRequest(creator, "m.room.member",
                             {"membership": "join", **profiles[creator]}, creator),
                EventRequest(creator, "m.room.power_levels", power_levels, ""),
            ]
            if alias is not None:
                events.append(EventRequest(creator, "m.room.canonical_alias",
                                           {"alias": alias}, ""))
            events += [
                EventRequest(creator, "m.room.join_rules", {"join_rule": join_rule}, ""),
                EventRequest(creator, "m.room.history_visibility",
                             {"history_visibility": history}, ""),
            ]
            if guest is not None:
                events.append(EventRequest(creator, "m.room.guest_access",
                                           {"guest_access": guest}, ""))
            events += [EventRequest(creator, s.type, s.content, s.state_key)
                        for s in initial_state]
            if name is not None:
                events.append(EventRequest(creator, "m.room.name", {"name": name}, ""))
            if topic is not None:
                # The spec's text/plain representation beside the plain string (an
                # absent mimetype means text/plain; Synapse writes it so).
                events.append(EventRequest(creator, "m.room.topic", {
                    "topic": topic, "m.topic": {"m.text": [{"body": topic}]}}, ""))
            return events

        contents: dict[str, dict[str, Any]] = {}
        for invitee in invite:
            contents[invitee] = {"membership": "invite", **profiles[invitee]}
            if is_direct:
                contents[invitee]["is_direct"] = True
        remote = [u for u in contents if self._invites is not None
                  and parse_user_id(u).domain != self._config.server_name]
        invites = [EventRequest(creator, "m.room.member", content, invitee)
                   for invitee, content in contents.items() if invitee not in remote]
        room_id, _ = await self._events.create_room(creator, version, create_content, later,
                                                    alias, in_tx, invites=invites)
        if visibility == "public":
            await self._storage.rooms.set_published(room_id, True)
        # Another server's user is invited through their server (it signs the invite),
        # once the room exists; a refusal fails the request, as Synapse's does.
        for invitee in remote:
            assert self._invites is not None
            await self._invites.invite_remote(room_id, creator, invitee, contents[invitee])
        return room_id

    def _default_version(self) -> str:
        return DEFAULT_ROOM_VERSION

    async def upgrade_room(self, user_id: str, room_id: str, new_version_id: str,
                           additional_creators: list[str] | None = None) -> str:
        """Replace a room by a new one in another version; returns the new room's ID."""
        new_version = get_room_version(new_version_id)
        if new_version is None:
            raise MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION",
                              f"Your homeserver does not support room version "
                              f"{new_version_id!r}")
        additional = list(additional_creators or [])
        for creator in additional:
            try:
                parse_user_id(creator)
            except InvalidId as e:
                raise errors.invalid_param(
                    f"Invalid user ID in additional_creators: {creator!r}") from e
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a legal room ID")
        # One upgrade at a time (they are rare): two concurrent requests for one room
        # would otherwise make two replacement rooms.
        async with self._upgrade_lock:
            return await self._upgrade(user_id, room_id, new_version,
                                       additional if new_version.privileged_creators else [])

    async def _upgrade(self, user_id: str, room_id: str, new_version: RoomVersion,
                       additional_creators: list[str]) -> str:
        _, old_version = await self._events.room(room_id)
        member = await self._storage.state.membership_of(room_id, user_id)
        if member is None or member.membership != "join":
            raise errors.forbidden(f"User {user_id} not in room {room_id}")
        state_ids = await self._storage.state.current_ids(room_id)
        state = await self._storage.events.get_many(list(state_ids.values()))
        current = {key: state[eid] for key, eid in state_ids.items() if eid in state}
        create = current[("m.room.create", "")]
        pl_event = current.get(("m.room.power_levels", ""))
        old_pl = dict(pl_event.content) if pl_event else None
        creators = room_creators(create.pdu, old_version)
        if user_level(old_pl, user_id, creators, old_version) < event_level(
                old_pl, "m.room.tombstone", True, old_version):
            raise errors.forbidden("You don't have permission to upgrade the room")

        create_content: dict[str, Any] = {"room_version": new_version.identifier,
                                          "predecessor": {"room_id": room_id}}
        if new_version.privileged_creators and additional_creators:
            create_content["additional_creators"] = sorted(set(additional_creators))
        # A space's children come along (as on Synapse), except removed ones (empty).
        is_space = create.content.get("type") == "m.space"
        if "type" in create.content:
            create_content["type"] = create.content["type"]
        for key in ("m.federate",):
            if key in create.content:
                create_content[key] = create.content[key]
        new_creators = {user_id, *create_content.get("additional_creators", [])}
        new_pl, restore_pl = _replacement_power_levels(old_pl, user_id, new_version,
                                                       new_creators, old_version)
        aliases = await self._storage.directory.aliases_of(room_id)
        canonical = current.get(("m.room.canonical_alias", ""))
        profile = await member_profile(self._storage, user_id)

        def tombstone(new_room_id: str) -> EventRequest:
            return EventRequest(user_id, "m.room.tombstone", {
                "body": "This room has been replaced", "replacement_room": new_room_id}, "")

        chosen_id, sent = None, None
        if not new_version.room_id_is_create_hash:
            # The predecessor names the tombstone (as Synapse does), so the tombstone
            # comes first, naming a room ID chosen now. A v12+ room's ID is its create
            # event's hash, which can't name an event that names the room: there the
            # tombstone follows and ``predecessor.event_id`` is left out (spec v1.16).
            chosen_id = self._events.new_room_id()
            sent = await self._events.send(room_id, tombstone(chosen_id))
            create_content["predecessor"]["event_id"] = sent.event_id

        def later(new_room_id: str) -> list[EventRequest]:
            events = [
                EventRequest(user_id, "m.room.member", {"membership": "join", **profile},
                             user_id),
                EventRequest(user_id, "m.room.power_levels", new_pl, ""),
            ]
            events += [EventRequest(user_id, key[0], current[key].content, key[1])
                       for key in sorted(current) if key[0] in TRANSFERRED_STATE
                       or (key[0] == SPACE_CHILD and is_space and current[key].content)]
            if canonical is not None and canonical.content:
                events.append(EventRequest(user_id, "m.room.canonical_alias",
                                           canonical.content, ""))
            events += [EventRequest(user_id, "m.room.member", {"membership": "ban"}, key[1])
                       for key, event in sorted(current.items())
                       if key[0] == "m.room.member" and event.content.get("membership") == "ban"
                       and key[1] not in new_creators]
            if restore_pl is not None:
                events.append(EventRequest(user_id, "m.room.power_levels", restore_pl, ""))
            return events

        try:
            new_room_id, _ = await self._events.create_room(
                user_id, new_version, create_content, later, room_id=chosen_id)
        except MatrixError:
            if sent is not None:
                # The room could not be made: take back the tombstone pointing at it.
                await self._try_send(room_id, EventRequest(
                    user_id, "m.room.redaction", {"reason": "Room upgrade failed"},
                    redacts=sent.event_id))
            raise
        async with self._storage.transaction() as tx:
            await tx.directory.move_aliases(room_id, new_room_id)
            room = await tx.rooms.get(room_id)
            if room is not None and room.published:
                await tx.rooms.set_published(room_id, False)
                await tx.rooms.set_published(new_room_id, True)
        if chosen_id is None:
            await self._events.send(room_id, tombstone(new_room_id))
        if canonical is not None and canonical.content and aliases:
            await self._try_send(room_id, EventRequest(user_id, "m.room.canonical_alias",
                                                       {}, ""))
        if old_pl is not None:
            restricted = dict(old_pl)
            users_default = old_pl.get("users_default", 0)
            floor = max(50, (users_default if isinstance(users_default, int) else 0) + 1)
            changed = False
            for key in ("events_default", "invite"):
                value = old_pl.get(key, 0)
                if not isinstance(value, int) or value < floor:
                    restricted[key] = floor
                    changed = True
            if changed:
                await self._try_send(room_id, EventRequest(user_id, "m.room.power_levels",
                                                           restricted, ""))
        return new_room_id

    async def _try_send(self, room_id: str, request: EventRequest) -> None:
        """Best-effort follow-ups of an upgrade: the upgrader may lack the power for them."""
        try:
            await self._events.send(room_id, request)
        except MatrixError as e:
            if e.errcode != "M_FORBIDDEN":
                raise


def _replacement_power_levels(
    old: Mapping[str, Any] | None, upgrader: str, new_version: RoomVersion,
    new_creators: set[str], old_version: RoomVersion,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The replacement room's power levels: the old ones, adjusted so the upgrader can
    write the copied state (then restored: the second value), with v12 creators removed
    from ``users`` (they may not be listed there)."""
    if old is None:
        return default_power_levels_content(upgrader, new_version), None
    final = _integer_levels(old, old_version)
    users = dict(final.get("users") or {})
    if new_version.privileged_creators:
        for creator in new_creators:
            users.pop(creator, None)
    elif old_version.privileged_creators:
        # Leaving v12: the upgrader's unlimited power must become an explicit level.
        users[upgrader] = 100
    final["users"] = users
    if new_version.privileged_creators:
        return final, None
    needed = max([100] + [v for v in (final.get("events") or {}).values()
                          if isinstance(v, int)]
                 + [v for k, v in final.items() if k in ("state_default", "ban")
                    and isinstance(v, int)])
    if users.get(upgrader, final.get("users_default", 0)) >= needed:
        return final, None
    boosted = copy.deepcopy(final)
    boosted["users"] = {**users, upgrader: needed}
    return boosted, final


def _integer_levels(content: Mapping[str, Any], version: RoomVersion) -> dict[str, Any]:
    """Power levels with every level as an integer: older rooms allow strings such as
    ``"50"``, which v10+ rooms reject."""
    out = copy.deepcopy(dict(content))
    for key in SCALAR_KEYS:
        if key in out:
            level = parse_level(out[key], version)
            if level is None:
                del out[key]
            else:
                out[key] = level
    for key in ("events", "users", "notifications"):
        if isinstance(out.get(key), Mapping):
            levels = {name: parse_level(v, version) for name, v in out[key].items()}
            out[key] = {name: v for name, v in levels.items() if v is not None}
    return out
