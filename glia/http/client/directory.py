"""Aliases (``directory/room``), room visibility (``directory/list``), ``publicRooms``."""

from __future__ import annotations

from typing import Literal

import msgspec

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.protocol.canonical_json import NonNegativeInt
from glia.services.directory import AliasTarget, PublicRooms

routes = RouteGroup()


class AliasBody(msgspec.Struct):
    room_id: str


class VisibilityBody(msgspec.Struct):
    #: The spec's default, as in Synapse.
    visibility: Literal["public", "private"] = "public"


class RoomAliases(msgspec.Struct, frozen=True):
    aliases: list[str]


class RoomVisibility(msgspec.Struct, frozen=True):
    visibility: str


class PublicRoomsFilter(msgspec.Struct):
    generic_search_term: str | None = None


class PublicRoomsBody(msgspec.Struct):
    """``POST /publicRooms`` (third-party networks are not served; ``server`` is a query
    parameter)."""

    limit: NonNegativeInt | None = None
    since: str | None = None
    filter: PublicRoomsFilter | None = None
    third_party_instance_id: str | None = None
    include_all_networks: bool = False


@routes.get(*client_paths("/directory/room/{roomAlias}"), auth=Auth.USER_OPTIONAL)
async def get_alias(req: Request) -> AliasTarget:
    return await req.services.directory.resolve(req.path("roomAlias"))


@routes.put(*client_paths("/directory/room/{roomAlias}"), auth=Auth.USER, body=AliasBody)
async def put_alias(req: Request[AliasBody]) -> Empty:
    await req.services.directory.create_alias(req.uow, req.path("roomAlias"),
                                              req.body.room_id)
    return EMPTY


@routes.delete(*client_paths("/directory/room/{roomAlias}"), auth=Auth.USER)
async def delete_alias(req: Request) -> Empty:
    await req.services.directory.delete_alias(req.uow, req.path("roomAlias"))
    return EMPTY


@routes.get(*client_paths("/rooms/{roomId}/aliases"), auth=Auth.USER)
async def room_aliases(req: Request) -> RoomAliases:
    aliases = await req.services.directory.room_aliases(req.requester.user_id,
                                                        req.path("roomId"))
    return RoomAliases(aliases)


@routes.get(*client_paths("/directory/list/room/{roomId}"), auth=Auth.NONE)
async def get_visibility(req: Request) -> RoomVisibility:
    return RoomVisibility(await req.services.directory.visibility(req.path("roomId")))


@routes.put(*client_paths("/directory/list/room/{roomId}"), auth=Auth.USER,
            body=VisibilityBody)
async def set_visibility(req: Request[VisibilityBody]) -> Empty:
    await req.services.directory.set_visibility(req.uow, req.path("roomId"),
                                                req.body.visibility == "public")
    return EMPTY


@routes.get(*client_paths("/publicRooms"), auth=Auth.USER_OPTIONAL)
async def public_rooms(req: Request) -> PublicRooms:
    return await req.services.directory.public_rooms(
        req.query_int("limit"), req.query("since"), None, req.query("server"),
        instance_id=req.query("third_party_instance_id"),
        all_networks=bool(req.query_bool("include_all_networks", False)))


@routes.post(*client_paths("/publicRooms"), auth=Auth.USER, body=PublicRoomsBody,
             empty_body=True)
async def search_public_rooms(req: Request[PublicRoomsBody]) -> PublicRooms:
    body = req.body
    search = body.filter.generic_search_term if body.filter is not None else None
    return await req.services.directory.public_rooms(
        body.limit, body.since, search, req.query("server"),
        instance_id=body.third_party_instance_id, all_networks=body.include_all_networks)
