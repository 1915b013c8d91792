"""Account data (global and per room) and room tags."""

from __future__ import annotations

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.account_data import Content, Tags

routes = RouteGroup()


@routes.put(*client_paths("/user/{userId}/account_data/{type}"), auth=Auth.USER,
            body=Content)
async def put_global(req: Request[Content]) -> Empty:
    await req.services.account_data.put(req.uow, req.path("userId"), None,
                                        req.path("type"), req.body)
    return EMPTY


@routes.get(*client_paths("/user/{userId}/account_data/{type}"), auth=Auth.USER)
async def get_global(req: Request) -> Content:
    return await req.services.account_data.get(req.requester.user_id, req.path("userId"),
                                               None, req.path("type"))


@routes.put(*client_paths("/user/{userId}/rooms/{roomId}/account_data/{type}"),
            auth=Auth.USER, body=Content)
async def put_room(req: Request[Content]) -> Empty:
    await req.services.account_data.put(req.uow, req.path("userId"), req.path("roomId"),
                                        req.path("type"), req.body)
    return EMPTY


@routes.get(*client_paths("/user/{userId}/rooms/{roomId}/account_data/{type}"),
            auth=Auth.USER)
async def get_room(req: Request) -> Content:
    return await req.services.account_data.get(req.requester.user_id, req.path("userId"),
                                               req.path("roomId"), req.path("type"))


@routes.get(*client_paths("/user/{userId}/rooms/{roomId}/tags"), auth=Auth.USER)
async def get_tags(req: Request) -> Tags:
    return await req.services.account_data.tags(req.requester.user_id, req.path("userId"),
                                                req.path("roomId"))


@routes.put(*client_paths("/user/{userId}/rooms/{roomId}/tags/{tag}"), auth=Auth.USER,
            body=Content)
async def put_tag(req: Request[Content]) -> Empty:
    await req.services.account_data.set_tag(req.uow, req.path("userId"),
                                            req.path("roomId"), req.path("tag"), req.body)
    return EMPTY


@routes.delete(*client_paths("/user/{userId}/rooms/{roomId}/tags/{tag}"), auth=Auth.USER)
async def delete_tag(req: Request) -> Empty:
    await req.services.account_data.remove_tag(req.uow, req.path("userId"),
                                               req.path("roomId"), req.path("tag"))
    return EMPTY
