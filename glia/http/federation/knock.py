"""Knocking on a room through this server: ``make_knock`` / ``send_knock`` (v1)."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, federation_paths
from glia.services.federation.knock import SendKnockResult
from glia.services.federation.resident import MembershipTemplate

routes = RouteGroup()


@routes.get(*federation_paths("/make_knock/{roomId}/{userId}"), auth=Auth.SERVER)
async def make_knock(req: Request) -> MembershipTemplate:
    assert req.origin is not None
    # ``ver`` is required; without it the asking server supports no version we know.
    return await req.services.federation_knocks.make_knock(
        req.origin, req.path("roomId"), req.path("userId"), req.query_list("ver"))


@routes.put(*federation_paths("/send_knock/{roomId}/{eventId}"), auth=Auth.SERVER,
            body=dict[str, Any])
async def send_knock(req: Request[dict[str, Any]]) -> SendKnockResult:
    assert req.origin is not None
    return await req.services.federation_knocks.send_knock(
        req.origin, req.path("roomId"), req.path("eventId"), req.body)
