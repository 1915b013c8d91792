"""The space hierarchy walk: the client's ``GET /v1/rooms/{roomId}/hierarchy`` and the
admin API's ``GET /_synapse/admin/v1/rooms/{roomId}/hierarchy``, one walk for both.

Depth first from the root, children in the spec's order (valid ``order`` strings first,
then the child event's timestamp, then the room ID); a room met twice (or a loop) is
visited once. For a user, a room is listed when they are joined or invited, may join
(public rules, or a restricted rule naming a room they are in), may knock, or the room is
world-readable; other rooms are left out and not walked into. The admin walk lists every
room this server has. A room this server does not have (past the root, which it must
have, as in Synapse) is asked of the servers its child event names (``remote_spaces``)
and judged as Synapse does: public, knockable or world-readable, or one of the rooms a
restricted rule names has the user joined here, or the user is in it here; the children
that server calls inaccessible are not walked into. Other servers get the federation
walk (``server_hierarchy``): the
room and its direct children, judged by the same rules for the server's users. A page
that stops early stores where it stopped (the rooms left to visit and those visited)
under a random token for five minutes, so any process can serve the next page.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.clock import now_ms
from glia.ids import is_valid_room_id, random_string
from glia.protocol.room_versions import get_room_version
from glia.storage import Storage
from glia.storage.engine import Row
from glia.storage.events import StoredEvent
from glia.storage.spaces import HierarchySession

#: Most rooms in one page (also the default), as in Synapse.
MAX_LIMIT = 50
SESSION_TTL_MS = 5 * 60 * 1000
SPACE = "m.space"
_ORDER = re.compile(r"[\x20-\x7E]{1,50}")
RESTRICTED_RULES = ("restricted", "knock_restricted")


class SpaceRoom(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A room's summary in the hierarchy (what the room has not set is left out), with
    its ``m.space.child`` events stripped (empty unless the room is a space)."""

    room_id: str
    room_version: str | None = None
    name: str | None = None
    topic: str | None = None
    canonical_alias: str | None = None
    num_joined_members: int
    avatar_url: str | None = None
    join_rule: str | None = None
    world_readable: bool
    guest_can_join: bool
    room_type: str | None = None
    encryption: str | None = None
    children_state: list[dict[str, Any]]
    #: The rooms whose members may join a restricted room (federation answers only).
    allowed_room_ids: list[str] | None = None


#: Whether the requester (a user, or a remote server through its users) has one of the
#: memberships in the room now: ``(room_id, memberships) -> bool``.
InRoom = Callable[[str, tuple[str, ...]], Awaitable[bool]]


@dataclass(frozen=True)
class RemoteSpace:
    """A room's summary as another server gave it (children state filtered to child
    events with ``via``), and the children it named as inaccessible."""

    room: SpaceRoom
    inaccessible_children: frozenset[str]


#: Asks other servers about a room: ``(room_id, via, suggested_only) -> RemoteSpace``.
RemoteSummary = Callable[[str, list[str], bool], Awaitable[RemoteSpace | None]]


class ServerHierarchy(msgspec.Struct):
    """The federation hierarchy: the room and its direct children, unpaginated."""

    room: SpaceRoom
    children: list[SpaceRoom]
    inaccessible_children: list[str]


class Hierarchy(msgspec.Struct):
    rooms: list[SpaceRoom]
    #: A token for the next page, when the walk is not done.
    next_batch: str | UnsetType = UNSET


class SpacesService:
    def __init__(self, storage: Storage, remote: RemoteSummary | None = None) -> None:
        """``remote`` (None: rooms this server does not have are left out) asks other
        servers about such rooms."""
        self._storage = storage
        self._remote = remote

    async def hierarchy(self, user_id: str, room_id: str, *, suggested_only: bool = False,
                        max_depth: int | None = None, limit: int | None = None,
                        from_token: str | None = None, admin: bool = False
                        ) -> Hierarchy:
        """One page of the walk from ``room_id``. ``admin``: every local room, without
        the visibility rules (the requester must be a server admin)."""
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a legal room ID")
        if limit is not None and limit < 1:
            raise errors.invalid_param("Query parameter limit must be greater than 0")
        root = await self._storage.admin_rooms.get(room_id)
        in_room = self._user_in_room(user_id)
        if admin:
            if root is None:
                raise errors.not_found("Room not found")
        elif root is None or not await self._accessible(root, in_room):
            raise errors.forbidden(
                f"User {user_id} not in room {room_id}, and room previews are disabled")

        if from_token is not None:
            session = await self._storage.spaces.session(from_token,
                                                         now_ms() - SESSION_TTL_MS)
            if session is None or (session.user_id, session.room_id, session.suggested_only,
                                   session.max_depth, session.admin) != (
                    user_id, room_id, suggested_only, max_depth, admin):
                raise errors.invalid_param("Unknown pagination token")
            queue, processed = list(session.queue), set(session.processed)
        else:
            queue, processed = [(room_id, 0, [])], set()

        page_size = MAX_LIMIT if limit is None else min(limit, MAX_LIMIT)
        rooms: list[SpaceRoom] = []
        while queue and len(rooms) < page_size:
            current, depth, via = queue.pop()
            if current in processed:
                continue
            processed.add(current)
            skip: frozenset[str] = frozenset()
            entry = await self._entry(current, in_room, suggested_only, admin)
            if entry is None and not admin and via:
                remote = await self._remote_entry(current, via, in_room, suggested_only)
                if remote is not None:
                    entry, skip = remote.room, remote.inaccessible_children
            if entry is None:
                continue
            rooms.append(entry)
            if max_depth is None or depth < max_depth:
                # Reversed, so the first child is the next room visited.
                queue.extend((child["state_key"], depth + 1, list(child["content"]["via"]))
                             for child in reversed(entry.children_state)
                             if child["state_key"] not in skip)

        body = Hierarchy(rooms)
        if queue:
            token = random_string(32)
            now = now_ms()
            async with self._storage.transaction() as tx:
                await tx.spaces.delete_sessions_before(now - SESSION_TTL_MS)
                await tx.spaces.save_session(token, HierarchySession(
                    user_id=user_id, room_id=room_id, suggested_only=suggested_only,
                    max_depth=max_depth, admin=admin, queue=queue,
                    processed=sorted(processed), created_ts=now))
            body.next_batch = token
        return body

    async def server_hierarchy(self, room_id: str, in_room: InRoom, *,
                               suggested_only: bool = False) -> ServerHierarchy:
        """The federation walk for a remote server (``in_room`` tells its users'
        memberships): the room and its direct children the server could peek or join,
        by the same rules as for a user; children it could not are only named, rooms
        this server does not have are left out. ``404`` for a room the server may not
        see or that is unknown."""
        root = await self._entry(room_id, in_room, suggested_only, False, federation=True)
        if root is None:
            raise errors.not_found("Room does not exist.")
        children: list[SpaceRoom] = []
        inaccessible: list[str] = []
        for child in root.children_state:
            child_id = child["state_key"]
            if not is_valid_room_id(child_id) or child_id == room_id or \
                    await self._storage.admin_rooms.get(child_id) is None:
                continue
            entry = await self._entry(child_id, in_room, suggested_only, False,
                                      federation=True)
            if entry is None:
                inaccessible.append(child_id)
            else:
                children.append(entry)
        return ServerHierarchy(root, children, inaccessible)

    # -- one room ----------------------------------------------------------------------

    async def _remote_entry(self, room_id: str, via: list[str], in_room: InRoom,
                            suggested_only: bool) -> RemoteSpace | None:
        """Another server's summary of a room this server does not have, if the user
        may see it (Synapse's rules for remote rooms)."""
        if self._remote is None or not is_valid_room_id(room_id) \
                or await self._storage.admin_rooms.get(room_id) is not None:
            return None
        remote = await self._remote(room_id, via, suggested_only)
        if remote is None:
            return None
        room = remote.room
        visible = (room.join_rule in (None, "public", "knock", "knock_restricted")
                   or room.world_readable
                   or await in_room(room_id, ("join", "invite")))
        for allowed in room.allowed_room_ids or []:
            if visible:
                break
            visible = isinstance(allowed, str) and await in_room(allowed, ("join",))
        if not visible:
            return None
        # What other servers' users may join by is not for clients.
        return RemoteSpace(msgspec.structs.replace(room, allowed_room_ids=None),
                           remote.inaccessible_children)

    def _user_in_room(self, user_id: str) -> InRoom:
        async def in_room(room_id: str, memberships: tuple[str, ...]) -> bool:
            member = await self._storage.state.membership_of(room_id, user_id)
            return member is not None and member.membership in memberships
        return in_room

    async def _entry(self, room_id: str, in_room: InRoom, suggested_only: bool,
                     admin: bool, *, federation: bool = False) -> SpaceRoom | None:
        """The room's summary with its children, or None when it is not to be listed.
        ``federation``: with the restricted rooms' ``allowed_room_ids``."""
        if not is_valid_room_id(room_id):
            return None
        stats = await self._storage.admin_rooms.get(room_id)
        if stats is None or (not admin and not await self._accessible(stats, in_room)):
            return None
        children: list[dict[str, Any]] = []
        if stats["room_type"] == SPACE:
            children = [_stripped(e) for e in await self._children(room_id)
                        if not suggested_only or e.content.get("suggested") is True]
        return SpaceRoom(
            room_id=room_id, room_version=stats["room_version"], name=stats["name"],
            topic=stats["topic"], canonical_alias=stats["canonical_alias"],
            num_joined_members=int(stats["joined_members"]), avatar_url=stats["avatar"],
            join_rule=stats["join_rules"],
            world_readable=stats["history_visibility"] == "world_readable",
            guest_can_join=stats["guest_access"] == "can_join",
            room_type=stats["room_type"], encryption=stats["encryption"],
            children_state=children,
            allowed_room_ids=await self._allowed_rooms(room_id)
            if federation and stats["join_rules"] in RESTRICTED_RULES else None)

    async def _children(self, room_id: str) -> list[StoredEvent]:
        """The room's ``m.space.child`` events that name servers (``via``), in the
        spec's order."""
        ids = await self._storage.state.ids_at(room_id, None, types=["m.space.child"])
        events = await self._storage.events.get_many(list(ids.values()))
        valid = [e for e in events.values() if _has_via(e) and e.state_key is not None]
        return sorted(valid, key=_child_order)

    async def _accessible(self, stats: Row, in_room: InRoom) -> bool:
        """Whether the requester may see the room's summary: the spec's list for the
        hierarchy (member or invited, may join or knock, or world-readable)."""
        room_id = stats["room_id"]
        version = get_room_version(stats["room_version"])
        join_rule = stats["join_rules"]
        if join_rule == "public":
            return True
        if version is not None and (
                (join_rule == "knock" and version.knock_join_rule)
                or (join_rule == "knock_restricted" and version.knock_restricted_join_rule)):
            return True
        if stats["history_visibility"] == "world_readable":
            return True
        if await in_room(room_id, ("join", "invite")):
            return True
        if join_rule == "restricted" and version is not None and version.restricted_join_rule:
            for allowed in await self._allowed_rooms(room_id):
                if await in_room(allowed, ("join",)):
                    return True
        return False

    async def _allowed_rooms(self, room_id: str) -> list[str]:
        """The rooms a restricted join rule admits members of."""
        ids = await self._storage.state.current_ids(room_id, [("m.room.join_rules", "")])
        events = await self._storage.events.get_many(list(ids.values()))
        rooms: list[str] = []
        for event in events.values():
            allow = event.content.get("allow")
            if not isinstance(allow, list):
                continue
            for rule in allow:
                if (isinstance(rule, dict) and rule.get("type") == "m.room_membership"
                        and isinstance(rule.get("room_id"), str)):
                    rooms.append(rule["room_id"])
        return rooms


def _has_via(event: StoredEvent) -> bool:
    via = event.content.get("via")
    return isinstance(via, list) and bool(via) and all(isinstance(v, str) for v in via)


def _child_order(event: StoredEvent) -> tuple[bool, str, int, str]:
    order = event.content.get("order")
    if not isinstance(order, str) or _ORDER.fullmatch(order) is None:
        order = None
    ts = event.pdu.get("origin_server_ts")
    return (order is None, order or "", ts if isinstance(ts, int) else 0,
            event.state_key or "")


def _stripped(event: StoredEvent) -> dict[str, Any]:
    """A stripped state event with its timestamp, as the hierarchy lists children."""
    return {"type": event.type, "state_key": event.state_key, "content": event.content,
            "sender": event.sender, "origin_server_ts": event.pdu.get("origin_server_ts")}
