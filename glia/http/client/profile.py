"""``/profile/{userId}`` and its ``displayname`` / ``avatar_url`` fields."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


@routes.get(*client_paths("/profile/{userId}"), auth=Auth.USER_OPTIONAL)
async def get_profile(req: Request) -> dict[str, Any]:
    profile = await req.services.profile.get(req.path("userId"))
    body: dict[str, Any] = {}
    if profile.displayname is not None:
        body["displayname"] = profile.displayname
    if profile.avatar_url is not None:
        body["avatar_url"] = profile.avatar_url
    return body


@routes.get(*client_paths("/profile/{userId}/displayname"), auth=Auth.USER_OPTIONAL)
async def get_displayname(req: Request) -> dict[str, Any]:
    profile = await req.services.profile.get(req.path("userId"))
    return {} if profile.displayname is None else {"displayname": profile.displayname}


@routes.get(*client_paths("/profile/{userId}/avatar_url"), auth=Auth.USER_OPTIONAL)
async def get_avatar_url(req: Request) -> dict[str, Any]:
    profile = await req.services.profile.get(req.path("userId"))
    return {} if profile.avatar_url is None else {"avatar_url": profile.avatar_url}


@routes.put(*client_paths("/profile/{userId}/displayname"), auth=Auth.USER)
async def set_displayname(req: Request) -> dict[str, Any]:
    body = req.json()
    if "displayname" not in body:
        raise errors.missing_param("Missing key 'displayname'")
    await req.services.profile.set_displayname(
        req.requester, req.path("userId"), body.get("displayname")
    )
    return {}


@routes.put(*client_paths("/profile/{userId}/avatar_url"), auth=Auth.USER)
async def set_avatar_url(req: Request) -> dict[str, Any]:
    body = req.json()
    if "avatar_url" not in body:
        raise errors.missing_param("Missing key 'avatar_url'")
    await req.services.profile.set_avatar_url(
        req.requester, req.path("userId"), body.get("avatar_url")
    )
    return {}
