"""``/user/{userId}/openid/request_token``: a token a third party can check with our
federation API (``openid/userinfo``) to learn who the user is."""

from __future__ import annotations

import msgspec

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.openid import OpenIdToken

routes = RouteGroup()


class RequestTokenBody(msgspec.Struct):
    """The body is an empty object; anything in it is ignored."""


@routes.post(*client_paths("/user/{userId}/openid/request_token"), auth=Auth.USER,
             body=RequestTokenBody, empty_body=True)
async def request_token(req: Request[RequestTokenBody]) -> OpenIdToken:
    return await req.services.openid.request_token(req.uow, req.path("userId"))
