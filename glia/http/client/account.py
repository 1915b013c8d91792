"""The caller's account: ``whoami``, ``password``, ``deactivate``."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


@routes.get(*client_paths("/account/whoami"), auth=Auth.USER)
async def whoami(req: Request) -> dict[str, Any]:
    who = req.requester
    return {"user_id": who.user_id, "device_id": who.device_id, "is_guest": who.is_guest}


@routes.post(*client_paths("/account/password"), auth=Auth.USER)
async def change_password(req: Request) -> dict[str, Any]:
    await req.services.account.change_password(req.requester, req.json())
    return {}


@routes.post(*client_paths("/account/deactivate"), auth=Auth.USER)
async def deactivate(req: Request) -> dict[str, Any]:
    await req.services.account.deactivate(req.requester, req.json_or_empty())
    return {"id_server_unbind_result": "no-support"}
