"""Room aliases and the published room directory (``publicRooms``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import is_valid_room_alias, is_valid_room_id, is_valid_server_name, server_name_of
from glia.services.tokens import opaque_token, open_token
from glia.storage import Storage

if TYPE_CHECKING:
    from glia.services.appservices.queries import AppServiceQueries
    from glia.services.unit_of_work import UnitOfWork

#: State that makes up a room's directory entry: (event type, content key, output key).
_SUMMARY_FIELDS = (
    ("m.room.name", "name", "name"),
    ("m.room.topic", "topic", "topic"),
    ("m.room.canonical_alias", "alias", "canonical_alias"),
    ("m.room.avatar", "url", "avatar_url"),
    ("m.room.join_rules", "join_rule", "join_rule"),
    ("m.room.create", "type", "room_type"),
)
MAX_PUBLIC_ROOMS_LIMIT = 500


class AliasTarget(msgspec.Struct, frozen=True):
    """Where an alias points, and the servers that can join it (this one)."""

    room_id: str
    servers: list[str]


class PublicRoom(msgspec.Struct, kw_only=True):
    """A room's directory entry; names and such the room has not set are left out."""

    room_id: str
    num_joined_members: int
    world_readable: bool
    guest_can_join: bool
    name: str | UnsetType = UNSET
    topic: str | UnsetType = UNSET
    canonical_alias: str | UnsetType = UNSET
    avatar_url: str | UnsetType = UNSET
    join_rule: str = "public"
    room_type: str | UnsetType = UNSET

    def mentions(self, needle: str) -> bool:
        """Whether the lower-cased ``needle`` is in the name, topic or alias."""
        return any(isinstance(v, str) and needle in v.lower()
                   for v in (self.name, self.topic, self.canonical_alias))


class PublicRooms(msgspec.Struct, kw_only=True):
    chunk: list[PublicRoom]
    total_room_count_estimate: int
    #: Tokens, present when there are more rooms that way.
    next_batch: str | UnsetType = UNSET
    prev_batch: str | UnsetType = UNSET


def _order(entry: PublicRoom) -> tuple[int, str]:
    """The directory's order: most joined members first, then by room ID."""
    return -entry.num_joined_members, entry.room_id


@dataclass(frozen=True)
class _DirectoryPosition:
    """A ``publicRooms`` token: page on after (``forwards``) or before the room at
    ``key`` in the directory's order."""

    forwards: bool
    key: tuple[int, str]

    def token(self) -> str:
        return opaque_token(f"{'f' if self.forwards else 'b'}|{-self.key[0]}|{self.key[1]}")

    @classmethod
    def parse(cls, token: str) -> _DirectoryPosition:
        invalid = errors.invalid_param(f"Invalid since token {token!r}")
        raw = open_token(token, invalid)
        direction, _, rest = raw.partition("|")
        members, _, room_id = rest.partition("|")
        if direction not in ("f", "b") or not members.isdigit() or len(members) > 18 \
                or not is_valid_room_id(room_id):
            raise invalid
        return cls(direction == "f", (-int(members), room_id))


class RemoteDirectory(Protocol):
    """Another server's directory, asked over federation."""

    async def alias(self, alias: str, server: str) -> AliasTarget:
        """Where ``alias``, an alias on ``server``, points."""

    async def public_rooms(self, server: str, limit: int | None, since: str | None,
                           search: str | None) -> PublicRooms:
        """``server``'s published rooms."""


class DirectoryService:
    def __init__(self, config: Config, storage: Storage,
                 remote: RemoteDirectory | None = None,
                 app_services: AppServiceQueries | None = None) -> None:
        self._config = config
        self._storage = storage
        self._remote = remote
        self._app_services = app_services

    def _check_alias(self, alias: str) -> None:
        if not is_valid_room_alias(alias):
            raise errors.invalid_param(f"{alias} is not a valid room alias")

    async def resolve(self, alias: str) -> AliasTarget:
        """Where an alias points: ours from the database, another server's from it."""
        self._check_alias(alias)
        domain = alias.split(":", 1)[1]
        if domain != self._config.server_name and self._remote is not None:
            return await self._remote.alias(alias, domain)
        found = await self._storage.directory.get_alias(alias)
        if found is None and self._app_services is not None \
                and await self._app_services.query_alias(alias):
            # An application service owning the alias was asked and created it.
            found = await self._storage.directory.get_alias(alias)
        if found is None:
            raise errors.not_found(f"Room alias {alias} not found")
        return AliasTarget(found.room_id, [self._config.server_name])

    async def create_alias(self, uow: UnitOfWork, alias: str, room_id: str) -> None:
        """The caller creates a local alias, in the request's transaction."""
        self._check_alias(alias)
        if server_name_of(alias) != self._config.server_name:
            raise errors.invalid_param("Room alias must be on this server")
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a legal room ID")
        if self._app_services is not None:
            self._app_services.check_alias_allowed(uow.requester, alias)
        async with uow.transaction() as tx:
            if await tx.rooms.get(room_id) is None:
                raise errors.not_found("Unknown room")
            if not await tx.directory.create_alias(alias, room_id, uow.requester.user_id,
                                                   now_ms()):
                raise MatrixError(409, "M_ROOM_IN_USE", f"Room alias {alias} already exists")

    async def delete_alias(self, uow: UnitOfWork, alias: str) -> None:
        """Its creator (or a server admin) deletes an alias, in the request's
        transaction."""
        self._check_alias(alias)
        requester = uow.requester
        async with uow.transaction() as tx:
            found = await tx.directory.get_alias(alias)
            if found is None:
                raise errors.not_found(f"Room alias {alias} not found")
            if found.creator != requester.user_id and not requester.is_admin:
                raise errors.forbidden("You don't have permission to delete the alias.")
            await tx.directory.delete_alias(alias)

    async def room_aliases(self, user_id: str, room_id: str) -> list[str]:
        member = await self._storage.state.membership_of(room_id, user_id)
        if member is None or member.membership != "join":
            raise errors.forbidden("You are not in the room")
        return await self._storage.directory.aliases_of(room_id)

    async def visibility(self, room_id: str) -> str:
        room = await self._storage.rooms.get(room_id)
        if room is None:
            raise errors.not_found("Unknown room")
        return "public" if room.published else "private"

    async def set_visibility(self, uow: UnitOfWork, room_id: str,
                             published: bool) -> None:
        """Publish the room in the directory (or take it out), in the request's
        transaction."""
        requester = uow.requester
        if await self._storage.rooms.get(room_id) is None:
            raise errors.not_found("Unknown room")
        member = await self._storage.state.membership_of(room_id, requester.user_id)
        if not requester.is_admin and (member is None or member.membership != "join"):
            raise errors.forbidden("You are not in the room")
        async with uow.transaction() as tx:
            await tx.rooms.set_published(room_id, published)

    async def public_rooms(self, limit: int | None, since: str | None,
                           search: str | None, server: str | None = None, *,
                           instance_id: str | None = None,
                           all_networks: bool = False) -> PublicRooms:
        """Published rooms, biggest first; with another ``server`` named, that server's,
        asked over federation. With ``instance_id``, one application-service network's
        rooms instead; with ``all_networks``, every network's as well. Tokens name the
        room a page ended (or began) at rather than an offset, so rooms published or
        growing meanwhile neither repeat nor get skipped (Synapse's tokens work the same
        way)."""
        if server is not None and server != self._config.server_name \
                and self._remote is not None:
            if not is_valid_server_name(server):
                raise errors.invalid_param(f"{server!r} is not a valid server name")
            return await self._remote.public_rooms(server, limit, since, search)
        position = _DirectoryPosition.parse(since) if since else None
        room_ids = await self._storage.rooms.published_room_ids()
        if self._app_services is not None:
            network = await self._app_services.network_rooms(instance_id, all_networks)
            if network is not None:
                room_ids = sorted({*room_ids, *network}) if all_networks else network
        entries = [await self._entry(room_id) for room_id in room_ids]
        if search:
            needle = search.lower()
            entries = [e for e in entries if e.mentions(needle)]
        entries.sort(key=_order)
        limit = MAX_PUBLIC_ROOMS_LIMIT if limit is None else min(limit, MAX_PUBLIC_ROOMS_LIMIT)
        if position is None:
            start = 0
        elif position.forwards:
            start = next((i for i, e in enumerate(entries) if _order(e) > position.key),
                         len(entries))
        else:
            end = next((i for i, e in enumerate(entries) if _order(e) >= position.key),
                       len(entries))
            start = max(0, end - limit)
            limit = min(limit, end)
        chunk = entries[start:start + limit]
        body = PublicRooms(chunk=chunk, total_room_count_estimate=len(entries))
        if chunk and start + len(chunk) < len(entries):
            body.next_batch = _DirectoryPosition(True, _order(chunk[-1])).token()
        if chunk and start > 0:
            body.prev_batch = _DirectoryPosition(False, _order(chunk[0])).token()
        return body

    async def _entry(self, room_id: str) -> PublicRoom:
        keys = [(t, "") for t, _, _ in _SUMMARY_FIELDS] + [
            ("m.room.history_visibility", ""), ("m.room.guest_access", "")]
        ids = await self._storage.state.current_ids(room_id, keys)
        events = await self._storage.events.get_many(list(ids.values()))
        content = {key[0]: events[eid].content for key, eid in ids.items() if eid in events}
        entry = PublicRoom(
            room_id=room_id,
            num_joined_members=await self._storage.state.joined_count(room_id),
            world_readable=content.get("m.room.history_visibility", {}).get(
                "history_visibility") == "world_readable",
            guest_can_join=content.get("m.room.guest_access", {}).get(
                "guest_access") == "can_join",
        )
        for event_type, key, out in _SUMMARY_FIELDS:
            value = content.get(event_type, {}).get(key)
            if isinstance(value, str):
                setattr(entry, out, value)
        return entry
