"""The caller's account: ``whoami``, ``password``, ``deactivate``."""

from __future__ import annotations

from typing import Any

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


@routes.get(*client_paths("/account/whoami"), auth=Auth.USER)
async def whoami(req: Request) -> dict[str, Any]:
    who = req.requester
    return {"user_id": who.user_id, "device_id": who.device_id, "is_guest": who.is_guest}


@routes.post(*client_paths("/account/password"), auth=Auth.USER, body=PasswordChangeBody)
async def change_password(req: Request[PasswordChangeBody]) -> dict[str, Any]:
    await req.services.account.change_password(req.requester, req.body,
                                               stage_auth(req.body.auth))
    return {}


@routes.post(*client_paths("/account/deactivate"), auth=Auth.USER, body=DeactivateBody,
             empty_body=True)
async def deactivate(req: Request[DeactivateBody]) -> dict[str, Any]:
    await req.services.account.deactivate(req.requester, req.body, stage_auth(req.body.auth))
    return {"id_server_unbind_result": "no-support"}
