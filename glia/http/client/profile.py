"""``/profile/{userId}`` and its ``displayname`` / ``avatar_url`` fields."""

from __future__ import annotations

import msgspec

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


class DisplaynameBody(msgspec.Struct):
    #: Required; ``null`` clears the name.
    displayname: str | None


class AvatarUrlBody(msgspec.Struct):
    #: Required; ``null`` clears the avatar.
    avatar_url: str | None


class ProfileResponse(msgspec.Struct, omit_defaults=True):
    """A profile, or one field of it; fields the user has not set are left out."""

    displayname: str | None = None
    avatar_url: str | None = None


@routes.get(*client_paths("/profile/{userId}"), auth=Auth.USER_OPTIONAL)
async def get_profile(req: Request) -> ProfileResponse:
    profile = await req.services.profile.get(req.path("userId"))
    return ProfileResponse(profile.displayname, profile.avatar_url)


@routes.get(*client_paths("/profile/{userId}/displayname"), auth=Auth.USER_OPTIONAL)
async def get_displayname(req: Request) -> ProfileResponse:
    profile = await req.services.profile.get(req.path("userId"))
    return ProfileResponse(displayname=profile.displayname)


@routes.get(*client_paths("/profile/{userId}/avatar_url"), auth=Auth.USER_OPTIONAL)
async def get_avatar_url(req: Request) -> ProfileResponse:
    profile = await req.services.profile.get(req.path("userId"))
    return ProfileResponse(avatar_url=profile.avatar_url)


@routes.put(*client_paths("/profile/{userId}/displayname"), auth=Auth.USER,
            body=DisplaynameBody)
async def set_displayname(req: Request[DisplaynameBody]) -> Empty:
    await req.services.profile.set_displayname(req.requester, req.path("userId"),
                                               req.body.displayname)
    return EMPTY


@routes.put(*client_paths("/profile/{userId}/avatar_url"), auth=Auth.USER,
            body=AvatarUrlBody)
async def set_avatar_url(req: Request[AvatarUrlBody]) -> Empty:
    await req.services.profile.set_avatar_url(req.requester, req.path("userId"),
                                              req.body.avatar_url)
    return EMPTY
