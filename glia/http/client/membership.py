"""Room membership: join, invite, leave, forget, kick, ban, unban, knock, member lists."""

from __future__ import annotations

from typing import Any

import msgspec

from glia import errors
from glia.http.client.responses import EMPTY, Empty, RoomIdResponse
from glia.http.decoding import to_model
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.membership import JoinCommand, ThirdPartySigned
from glia.services.profile import MAX_AVATAR_URL_LENGTH, MAX_DISPLAYNAME_LENGTH
from glia.services.third_party_invites import InviteRequest
from glia.services.tokens import parse_position

routes = RouteGroup()


class ReasonBody(msgspec.Struct):
    """join, knock, leave: an optional reason (the whole body is optional)."""

    reason: str | None = None


class TargetBody(msgspec.Struct):
    """kick, ban, unban: whom, and why."""

    user_id: str
    reason: str | None = None


class MembersResponse(msgspec.Struct, frozen=True):
    #: The member events, in the client format.
    chunk: list[dict[str, Any]]


class JoinedMembersResponse(msgspec.Struct, frozen=True):
    #: User ID → ``display_name`` and ``avatar_url`` (``null`` when unset).
    joined: dict[str, dict[str, Any]]


class JoinBody(msgspec.Struct):
    """The fields of a ``/join`` body the server reads itself; every other key goes
    into the membership content as the client sent it (Synapse does the same)."""

    reason: str | None = None
    third_party_signed: ThirdPartySigned | None = None
    displayname: str | None = None
    avatar_url: str | None = None

    def __post_init__(self) -> None:
        # Synapse's limits and errcode for a per-room profile.
        if len(self.displayname or "") > MAX_DISPLAYNAME_LENGTH:
            raise errors.bad_json(f"Displayname is too long (max {MAX_DISPLAYNAME_LENGTH})")
        if len(self.avatar_url or "") > MAX_AVATAR_URL_LENGTH:
            raise errors.bad_json(f"Avatar URL is too long (max {MAX_AVATAR_URL_LENGTH})")


async def _join(req: Request[dict[str, Any]], room: str) -> RoomIdResponse:
    fields = to_model(req.body, JoinBody)
    content = {k: v for k, v in req.body.items() if k not in ("reason", "third_party_signed")}
    room_id = await req.services.membership.join(
        req.requester.user_id, room, fields.reason,
        JoinCommand(third_party_signed=fields.third_party_signed, content=content),
        via=[*req.query_list("via"), *req.query_list("server_name")])
    return RoomIdResponse(room_id)


@routes.post(*client_paths("/join/{roomIdOrAlias}"), auth=Auth.USER, ratelimit="message",
             body=dict[str, Any], empty_body=True)
async def join_by_id_or_alias(req: Request[dict[str, Any]]) -> RoomIdResponse:
    return await _join(req, req.path("roomIdOrAlias"))


@routes.post(*client_paths("/rooms/{roomId}/join"), auth=Auth.USER, ratelimit="message",
             body=dict[str, Any], empty_body=True)
async def join(req: Request[dict[str, Any]]) -> RoomIdResponse:
    return await _join(req, req.path("roomId"))


@routes.post(*client_paths("/knock/{roomIdOrAlias}"), auth=Auth.USER, ratelimit="message",
             body=ReasonBody, empty_body=True)
async def knock(req: Request[ReasonBody]) -> RoomIdResponse:
    room_id = await req.services.membership.knock(
        req.requester.user_id, req.path("roomIdOrAlias"), req.body.reason,
        via=[*req.query_list("via"), *req.query_list("server_name")])
    return RoomIdResponse(room_id)


@routes.post(*client_paths("/rooms/{roomId}/invite"), auth=Auth.USER, ratelimit="message",
             body=InviteRequest)
async def invite(req: Request[InviteRequest]) -> Empty:
    await req.services.third_party_invites.invite_by_request(
        req.requester.user_id, req.path("roomId"), req.body)
    return EMPTY


@routes.post(*client_paths("/rooms/{roomId}/leave"), auth=Auth.USER, ratelimit="message",
             body=ReasonBody, empty_body=True)
async def leave(req: Request[ReasonBody]) -> Empty:
    await req.services.membership.client_leave(req.requester.user_id,
                                               req.path("roomId"), req.body.reason)
    return EMPTY


@routes.post(*client_paths("/rooms/{roomId}/forget"), auth=Auth.USER)
async def forget(req: Request) -> Empty:
    await req.services.membership.forget(req.requester.user_id, req.path("roomId"))
    return EMPTY


@routes.post(*client_paths("/rooms/{roomId}/kick"), auth=Auth.USER, ratelimit="message",
             body=TargetBody)
async def kick(req: Request[TargetBody]) -> Empty:
    await req.services.membership.kick(
        req.requester.user_id, req.path("roomId"), req.body.user_id, req.body.reason)
    return EMPTY


@routes.post(*client_paths("/rooms/{roomId}/ban"), auth=Auth.USER, ratelimit="message",
             body=TargetBody)
async def ban(req: Request[TargetBody]) -> Empty:
    await req.services.membership.ban(
        req.requester.user_id, req.path("roomId"), req.body.user_id, req.body.reason)
    return EMPTY


@routes.post(*client_paths("/rooms/{roomId}/unban"), auth=Auth.USER, ratelimit="message",
             body=TargetBody)
async def unban(req: Request[TargetBody]) -> Empty:
    await req.services.membership.unban(
        req.requester.user_id, req.path("roomId"), req.body.user_id, req.body.reason)
    return EMPTY


@routes.get(*client_paths("/rooms/{roomId}/members"), auth=Auth.USER)
async def members(req: Request) -> MembersResponse:
    at = req.query("at")
    chunk = await req.services.state.members(
        req.requester.user_id, req.path("roomId"), parse_position(at) if at else None,
        req.query("membership"),
        req.query("not_membership"))
    return MembersResponse(chunk)


@routes.get(*client_paths("/rooms/{roomId}/joined_members"), auth=Auth.USER)
async def joined_members(req: Request) -> JoinedMembersResponse:
    joined = await req.services.state.joined_members(req.requester.user_id, req.path("roomId"))
    return JoinedMembersResponse(joined)
