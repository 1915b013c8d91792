"""Federation queries and small reads: ``version``, ``query/profile``,
``query/directory``, ``publicRooms`` and ``openid/userinfo``."""

from __future__ import annotations

import msgspec

from glia import __version__
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, federation_paths
from glia.protocol.canonical_json import NonNegativeInt
from glia.services.directory import AliasTarget, PublicRooms
from glia.services.federation.queries import RemoteProfile
from glia.services.openid import OpenIdUserInfo

routes = RouteGroup()


class ServerSoftware(msgspec.Struct, frozen=True):
    name: str
    version: str


class ServerVersion(msgspec.Struct, frozen=True):
    server: ServerSoftware


class PublicRoomsFilter(msgspec.Struct):
    generic_search_term: str | None = None


class PublicRoomsBody(msgspec.Struct):
    """``POST /publicRooms`` (third-party networks are not served)."""

    limit: NonNegativeInt | None = None
    since: str | None = None
    filter: PublicRoomsFilter | None = None
    include_all_networks: bool = False
    third_party_instance_id: str | None = None


@routes.get(*federation_paths("/version"), auth=Auth.NONE)
async def version(req: Request) -> ServerVersion:
    return ServerVersion(ServerSoftware("Glia", __version__))


@routes.get(*federation_paths("/query/profile"), auth=Auth.SERVER)
async def query_profile(req: Request) -> RemoteProfile:
    return await req.services.federation_queries.profile(req.query("user_id"),
                                                         req.query("field"))


@routes.get(*federation_paths("/query/directory"), auth=Auth.SERVER)
async def query_directory(req: Request) -> AliasTarget:
    return await req.services.federation_queries.directory(req.query("room_alias"))


@routes.get(*federation_paths("/publicRooms"), auth=Auth.SERVER)
async def public_rooms(req: Request) -> PublicRooms:
    return await req.services.federation_queries.public_rooms(
        req.query_int("limit"), req.query("since"), None)


@routes.post(*federation_paths("/publicRooms"), auth=Auth.SERVER, body=PublicRoomsBody,
             empty_body=True)
async def search_public_rooms(req: Request[PublicRoomsBody]) -> PublicRooms:
    body = req.body
    search = body.filter.generic_search_term if body.filter is not None else None
    return await req.services.federation_queries.public_rooms(body.limit, body.since, search)


@routes.get(*federation_paths("/openid/userinfo"), auth=Auth.NONE)
async def openid_userinfo(req: Request) -> OpenIdUserInfo:
    return await req.services.openid.userinfo(req.query("access_token"))
