"""The caller's account: ``whoami``, ``password``, ``deactivate``."""

from __future__ import annotations

from typing import Any

import msgspec

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.http.uia import stage_auth
from glia.services.account import Deactivation, PasswordChange

routes = RouteGroup()


class PasswordChangeBody(PasswordChange):
    """The new password, and the UIA ``auth`` dict (decoded by its stage type)."""

    auth: dict[str, Any] | None = None


class DeactivateBody(Deactivation):
    """Whether to erase, and the UIA ``auth`` dict (decoded by its stage type)."""

    auth: dict[str, Any] | None = None


class WhoAmI(msgspec.Struct, frozen=True):
    user_id: str
    device_id: str
    is_guest: bool


class DeactivateResponse(msgspec.Struct, frozen=True):
    #: ``success`` or ``no-support``: whether every bound 3PID was unbound.
    id_server_unbind_result: str


@routes.get(*client_paths("/account/whoami"), auth=Auth.USER)
async def whoami(req: Request) -> WhoAmI:
    who = req.requester
    return WhoAmI(who.user_id, who.device_id, who.is_guest)


@routes.post(*client_paths("/account/password"), auth=Auth.USER_OPTIONAL,
             body=PasswordChangeBody)
async def change_password(req: Request[PasswordChangeBody]) -> Empty:
    requester = req.requester_or_none
    if requester is None:
        # A forgotten password: reset through a validated email (no access token).
        await req.services.threepids.reset_password(req.body, stage_auth(req.body.auth))
        return EMPTY
    await req.services.account.change_password(requester, req.body,
                                               stage_auth(req.body.auth))
    return EMPTY


@routes.post(*client_paths("/account/deactivate"), auth=Auth.USER, body=DeactivateBody,
             empty_body=True)
async def deactivate(req: Request[DeactivateBody]) -> DeactivateResponse:
    return DeactivateResponse(await req.services.account.deactivate(
        req.requester, req.body, stage_auth(req.body.auth)))
