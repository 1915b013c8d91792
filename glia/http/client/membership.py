"""Room membership: join, invite, leave, forget, kick, ban, unban, knock, member lists."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.parsing import Request, require_str
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.tokens import parse_position

routes = RouteGroup()


def _reason(body: dict[str, Any]) -> str | None:
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise errors.bad_json("reason must be a string")
    return reason


@routes.post(*client_paths("/join/{roomIdOrAlias}"), auth=Auth.USER, ratelimit="message")
async def join_by_id_or_alias(req: Request) -> dict[str, Any]:
    body = req.json_or_empty()
    room_id = await req.services.membership.join(
        req.requester.user_id, req.path("roomIdOrAlias"), _reason(body))
    return {"room_id": room_id}


@routes.post(*client_paths("/rooms/{roomId}/join"), auth=Auth.USER, ratelimit="message")
async def join(req: Request) -> dict[str, Any]:
    body = req.json_or_empty()
    room_id = await req.services.membership.join(
        req.requester.user_id, req.path("roomId"), _reason(body))
    return {"room_id": room_id}


@routes.post(*client_paths("/knock/{roomIdOrAlias}"), auth=Auth.USER, ratelimit="message")
async def knock(req: Request) -> dict[str, Any]:
    body = req.json_or_empty()
    room_id = await req.services.membership.knock(
        req.requester.user_id, req.path("roomIdOrAlias"), _reason(body))
    return {"room_id": room_id}


@routes.post(*client_paths("/rooms/{roomId}/invite"), auth=Auth.USER, ratelimit="message")
async def invite(req: Request) -> dict[str, Any]:
    body = req.json()
    await req.services.membership.invite(
        req.requester.user_id, req.path("roomId"), require_str(body, "user_id"), _reason(body))
    return {}


@routes.post(*client_paths("/rooms/{roomId}/leave"), auth=Auth.USER, ratelimit="message")
async def leave(req: Request) -> dict[str, Any]:
    body = req.json_or_empty()
    await req.services.membership.client_leave(req.requester.user_id,
                                               req.path("roomId"), _reason(body))
    return {}


@routes.post(*client_paths("/rooms/{roomId}/forget"), auth=Auth.USER)
async def forget(req: Request) -> dict[str, Any]:
    await req.services.membership.forget(req.requester.user_id, req.path("roomId"))
    return {}


@routes.post(*client_paths("/rooms/{roomId}/kick"), auth=Auth.USER, ratelimit="message")
async def kick(req: Request) -> dict[str, Any]:
    body = req.json()
    await req.services.membership.kick(
        req.requester.user_id, req.path("roomId"), require_str(body, "user_id"), _reason(body))
    return {}


@routes.post(*client_paths("/rooms/{roomId}/ban"), auth=Auth.USER, ratelimit="message")
async def ban(req: Request) -> dict[str, Any]:
    body = req.json()
    await req.services.membership.ban(
        req.requester.user_id, req.path("roomId"), require_str(body, "user_id"), _reason(body))
    return {}


@routes.post(*client_paths("/rooms/{roomId}/unban"), auth=Auth.USER, ratelimit="message")
async def unban(req: Request) -> dict[str, Any]:
    body = req.json()
    await req.services.membership.unban(
        req.requester.user_id, req.path("roomId"), require_str(body, "user_id"), _reason(body))
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
