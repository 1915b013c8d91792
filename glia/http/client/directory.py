"""Aliases (``directory/room``), room visibility (``directory/list``), ``publicRooms``."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


@routes.get(*client_paths("/directory/room/{roomAlias}"), auth=Auth.USER_OPTIONAL)
async def get_alias(req: Request) -> dict[str, Any]:
    return await req.services.directory.resolve(req.path("roomAlias"))


@routes.put(*client_paths("/directory/room/{roomAlias}"), auth=Auth.USER)
async def put_alias(req: Request) -> dict[str, Any]:
    body = req.json()
    await req.services.directory.create_alias(req.requester, req.path("roomAlias"),
                                              body.get("room_id"))
    return {}


@routes.delete(*client_paths("/directory/room/{roomAlias}"), auth=Auth.USER)
async def delete_alias(req: Request) -> dict[str, Any]:
    await req.services.directory.delete_alias(req.requester, req.path("roomAlias"))
    return {}


@routes.get(*client_paths("/rooms/{roomId}/aliases"), auth=Auth.USER)
async def room_aliases(req: Request) -> dict[str, Any]:
    aliases = await req.services.directory.room_aliases(req.requester.user_id,
                                                        req.path("roomId"))
    return {"aliases": aliases}


@routes.get(*client_paths("/directory/list/room/{roomId}"), auth=Auth.NONE)
async def get_visibility(req: Request) -> dict[str, Any]:
    return {"visibility": await req.services.directory.visibility(req.path("roomId"))}


@routes.put(*client_paths("/directory/list/room/{roomId}"), auth=Auth.USER)
async def set_visibility(req: Request) -> dict[str, Any]:
    body = req.json()
    await req.services.directory.set_visibility(req.requester, req.path("roomId"),
                                                body.get("visibility"))
    return {}


@routes.get(*client_paths("/publicRooms"), auth=Auth.USER_OPTIONAL)
async def public_rooms(req: Request) -> dict[str, Any]:
    return await req.services.directory.public_rooms(
        req.query_int("limit"), req.query("since"), None)


@routes.post(*client_paths("/publicRooms"), auth=Auth.USER)
async def search_public_rooms(req: Request) -> dict[str, Any]:
    body = req.json_or_empty()
    limit = body.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                              or limit < 0):
        raise errors.bad_json("limit must be a non-negative integer")
    since = body.get("since")
    if since is not None and not isinstance(since, str):
        raise errors.bad_json("since must be a string")
    search = None
    flt = body.get("filter")
    if flt is not None:
        if not isinstance(flt, dict):
            raise errors.bad_json("filter must be an object")
        term = flt.get("generic_search_term")
        if term is not None and not isinstance(term, str):
            raise errors.bad_json("filter.generic_search_term must be a string")
        search = term
    return await req.services.directory.public_rooms(limit, since, search)
