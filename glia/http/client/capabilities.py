"""``/capabilities``: what this server lets clients do."""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.protocol.room_versions import room_versions_capability

routes = RouteGroup()


class Enabled(msgspec.Struct, frozen=True):
    enabled: bool


class AccountModeration(msgspec.Struct, frozen=True):
    suspend: bool
    lock: bool


class RoomVersions(msgspec.Struct, frozen=True):
    default: str
    #: Room version → ``stable`` or ``unstable``.
    available: dict[str, str]


class Capabilities(msgspec.Struct, frozen=True, kw_only=True):
    change_password: Enabled = msgspec.field(name="m.change_password")
    set_displayname: Enabled = msgspec.field(name="m.set_displayname")
    set_avatar_url: Enabled = msgspec.field(name="m.set_avatar_url")
    threepid_changes: Enabled = msgspec.field(name="m.3pid_changes")
    get_login_token: Enabled = msgspec.field(name="m.get_login_token")
    room_versions: RoomVersions = msgspec.field(name="m.room_versions")
    #: The spec's /admin/suspend and /admin/lock endpoints (left out for non-admins).
    account_moderation: AccountModeration | UnsetType = msgspec.field(
        default=UNSET, name="m.account_moderation")


class CapabilitiesResponse(msgspec.Struct, frozen=True):
    capabilities: Capabilities


_ON, _OFF = Enabled(True), Enabled(False)
_ROOM_VERSIONS = msgspec.convert(room_versions_capability(), RoomVersions)


@routes.get(*client_paths("/capabilities"), auth=Auth.USER)
async def capabilities(req: Request) -> CapabilitiesResponse:
    return CapabilitiesResponse(Capabilities(
        change_password=_ON, set_displayname=_ON, set_avatar_url=_ON,
        threepid_changes=_ON if req.services.threepids.email_enabled else _OFF,
        get_login_token=_OFF,
        room_versions=_ROOM_VERSIONS,
        account_moderation=(AccountModeration(suspend=True, lock=True)
                            if req.requester.is_admin else UNSET),
    ))
