"""The inbound federation queries that need no room joining: profiles, room aliases,
devices and their keys, one-time key claims and the public room directory. Only our
own users and aliases are answered; the origin was authenticated before this runs."""

from __future__ import annotations

import msgspec

from glia import errors
from glia.config import Config
from glia.ids import InvalidId, is_valid_room_alias, parse_user_id
from glia.protocol.events import JsonDict
from glia.services.directory import AliasTarget, DirectoryService, PublicRooms
from glia.services.keys import KeysClaim, KeysQuery, KeysService
from glia.services.profile import ProfileService
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage

#: Whom a remote server's key query is made as: no user of ours, so it sees what any
#: other user would (no user-signing keys, only the owners' own signatures).
REMOTE_VIEWER = ""


class RemoteProfile(msgspec.Struct, omit_defaults=True):
    displayname: str | None = None
    avatar_url: str | None = None


class UserDevice(msgspec.Struct, omit_defaults=True):
    device_id: str
    keys: JsonDict
    device_display_name: str | None = None


class UserDevices(msgspec.Struct, omit_defaults=True):
    user_id: str
    stream_id: int
    devices: list[UserDevice]
    master_key: JsonDict | None = None
    self_signing_key: JsonDict | None = None


class UserKeys(msgspec.Struct, omit_defaults=True):
    device_keys: dict[str, dict[str, JsonDict]]
    master_keys: dict[str, JsonDict] = msgspec.field(default_factory=dict)
    self_signing_keys: dict[str, JsonDict] = msgspec.field(default_factory=dict)


class ClaimedKeys(msgspec.Struct):
    one_time_keys: dict[str, dict[str, JsonDict]]


class FederationQueryService:
    def __init__(self, config: Config, storage: Storage, profile: ProfileService,
                 directory: DirectoryService, keys: KeysService) -> None:
        self._server_name = config.server_name
        self._storage = storage
        self._profile = profile
        self._directory = directory
        self._keys = keys

    def _local_user(self, user_id: str | None) -> str:
        if not user_id:
            raise errors.missing_param("Missing string query parameter 'user_id'")
        try:
            domain = parse_user_id(user_id).domain
        except InvalidId as e:
            raise errors.invalid_param(f"Invalid user ID: {e}") from e
        if domain != self._server_name:
            raise errors.invalid_param(f"{user_id} is not a user of this server")
        return user_id

    def _is_local(self, user_id: str) -> bool:
        try:
            return parse_user_id(user_id).domain == self._server_name
        except InvalidId:
            return False

    async def profile(self, user_id: str | None, field: str | None) -> RemoteProfile:
        """``query/profile``: the profile, or just ``field``; ``404 M_NOT_FOUND`` for no
        such user. Any field may be asked for (spec v1.16: ``m.tz`` and fields servers
        add); one Glia does not keep is left out, as the spec says for a field not set."""
        found = await self._profile.get(self._local_user(user_id))
        if field is None:
            return RemoteProfile(found.displayname, found.avatar_url)
        return RemoteProfile(
            displayname=found.displayname if field == "displayname" else None,
            avatar_url=found.avatar_url if field == "avatar_url" else None)

    async def directory(self, alias: str | None) -> AliasTarget:
        """``query/directory``: the room an alias of ours points to."""
        if not alias:
            raise errors.missing_param("Missing string query parameter 'room_alias'")
        if not is_valid_room_alias(alias):
            raise errors.invalid_param(f"{alias} is not a valid room alias")
        if alias.partition(":")[2] != self._server_name:
            raise errors.invalid_param("Room alias is not local")
        return await self._directory.resolve(alias)

    async def devices(self, user_id: str) -> UserDevices:
        """``user/devices/{userId}``: the user's devices with keys, and their
        cross-signing master and self-signing keys."""
        user_id = self._local_user(user_id)
        found = await self._keys.query_as(REMOTE_VIEWER, KeysQuery(device_keys={user_id: []}))
        devices = []
        for device_id, keys in sorted(found.device_keys.get(user_id, {}).items()):
            unsigned = keys.pop("unsigned", None)
            name = unsigned.get("device_display_name") if isinstance(unsigned, dict) else None
            devices.append(UserDevice(device_id, keys, name if isinstance(name, str) else None))
        return UserDevices(user_id, await self._storage.stream_upto(), devices,
                           found.master_keys.get(user_id),
                           found.self_signing_keys.get(user_id))

    async def user_keys(self, query: KeysQuery) -> UserKeys:
        """``user/keys/query`` for our users (others are ignored)."""
        wanted = query.device_keys
        assert not isinstance(wanted, msgspec.UnsetType)  # refused by the model
        local = {u: d for u, d in wanted.items() if self._is_local(u)}
        found = await self._keys.query_as(REMOTE_VIEWER, KeysQuery(device_keys=local))
        return UserKeys(found.device_keys, found.master_keys, found.self_signing_keys)

    async def claim(self, uow: UnitOfWork, claim: KeysClaim) -> ClaimedKeys:
        """``user/keys/claim`` for our users' devices (others are ignored)."""
        wanted = claim.one_time_keys
        assert not isinstance(wanted, msgspec.UnsetType)  # refused by the model
        local = {u: d for u, d in wanted.items() if self._is_local(u)}
        claimed = await self._keys.claim(uow, KeysClaim(one_time_keys=local))
        return ClaimedKeys(claimed.one_time_keys)

    async def public_rooms(self, limit: int | None, since: str | None,
                           search: str | None) -> PublicRooms:
        """``publicRooms``: our published rooms (the same list clients see)."""
        return await self._directory.public_rooms(limit, since, search)

