"""Room membership: join, invite, leave, forget, kick, ban, unban, knock, member lists."""

from __future__ import annotations

from typing import Any

import msgspec

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.tokens import parse_position

routes = RouteGroup()


class ReasonBody(msgspec.Struct):
    """join, knock, leave: an optional reason (the whole body is optional)."""

    reason: str | None = None


class TargetBody(msgspec.Struct):
    """invite, kick, ban, unban: whom, and why."""

    user_id: str
    reason: str | None = None


@routes.post(*client_paths("/join/{roomIdOrAlias}"), auth=Auth.USER, ratelimit="message",
             body=ReasonBody, empty_body=True)
async def join_by_id_or_alias(req: Request[ReasonBody]) -> dict[str, Any]:
    room_id = await req.services.membership.join(
        req.requester.user_id, req.path("roomIdOrAlias"), req.body.reason)
    return {"room_id": room_id}


@routes.post(*client_paths("/rooms/{roomId}/join"), auth=Auth.USER, ratelimit="message",
             body=ReasonBody, empty_body=True)
async def join(req: Request[ReasonBody]) -> dict[str, Any]:
    room_id = await req.services.membership.join(
        req.requester.user_id, req.path("roomId"), req.body.reason)
    return {"room_id": room_id}


@routes.post(*client_paths("/knock/{roomIdOrAlias}"), auth=Auth.USER, ratelimit="message",
             body=ReasonBody, empty_body=True)
async def knock(req: Request[ReasonBody]) -> dict[str, Any]:
    room_id = await req.services.membership.knock(
        req.requester.user_id, req.path("roomIdOrAlias"), req.body.reason)
    return {"room_id": room_id}


@routes.post(*client_paths("/rooms/{roomId}/invite"), auth=Auth.USER, ratelimit="message",
             body=TargetBody)
async def invite(req: Request[TargetBody]) -> dict[str, Any]:
    await req.services.membership.invite(
        req.requester.user_id, req.path("roomId"), req.body.user_id, req.body.reason)
    return {}


@routes.post(*client_paths("/rooms/{roomId}/leave"), auth=Auth.USER, ratelimit="message",
             body=ReasonBody, empty_body=True)
async def leave(req: Request[ReasonBody]) -> dict[str, Any]:
    await req.services.membership.client_leave(req.requester.user_id,
                                               req.path("roomId"), req.body.reason)
    return {}


@routes.post(*client_paths("/rooms/{roomId}/forget"), auth=Auth.USER)
async def forget(req: Request) -> dict[str, Any]:
    await req.services.membership.forget(req.requester.user_id, req.path("roomId"))
    return {}


@routes.post(*client_paths("/rooms/{roomId}/kick"), auth=Auth.USER, ratelimit="message",
             body=TargetBody)
async def kick(req: Request[TargetBody]) -> dict[str, Any]:
    await req.services.membership.kick(
        req.requester.user_id, req.path("roomId"), req.body.user_id, req.body.reason)
    return {}


@routes.post(*client_paths("/rooms/{roomId}/ban"), auth=Auth.USER, ratelimit="message",
             body=TargetBody)
async def ban(req: Request[TargetBody]) -> dict[str, Any]:
    await req.services.membership.ban(
        req.requester.user_id, req.path("roomId"), req.body.user_id, req.body.reason)
    return {}


@routes.post(*client_paths("/rooms/{roomId}/unban"), auth=Auth.USER, ratelimit="message",
             body=TargetBody)
async def unban(req: Request[TargetBody]) -> dict[str, Any]:
    await req.services.membership.unban(
        req.requester.user_id, req.path("roomId"), req.body.user_id, req.body.reason)
    return {}


@routes.get(*client_paths("/rooms/{roomId}/members"), auth=Auth.USER)
async def members(req: Request) -> dict[str, Any]:
    at = req.query("at")
    chunk = await req.services.state.members(
        req.requester.user_id, req.path("roomId"), parse_position(at) if at else None,
        req.query("membership"),
        req.query("not_membership"))
    return {"chunk": chunk}


@routes.get(*client_paths("/rooms/{roomId}/joined_members"), auth=Auth.USER)
async def joined_members(req: Request) -> dict[str, Any]:
    joined = await req.services.state.joined_members(req.requester.user_id, req.path("roomId"))
    return {"joined": joined}
