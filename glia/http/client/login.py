"""``/login``, ``/logout`` and ``/logout/all``."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.login import LoginType

routes = RouteGroup()


@routes.get(*client_paths("/login"), auth=Auth.NONE)
async def login_flows(req: Request) -> dict[str, Any]:
    return {"flows": req.services.login.flows()}


@routes.post(*client_paths("/login"), auth=Auth.NONE, ratelimit="login", body=LoginType)
async def login(req: Request[LoginType]) -> dict[str, Any]:
    # The rest of the body's shape depends on its type.
    command = req.typed(req.services.login.login_model(req.body.type))
    done = await req.services.login.login(command)
    return {
        "user_id": done.user_id,
        "access_token": done.access_token,
        "device_id": done.device_id,
        "home_server": req.services.config.server_name,
        "well_known": {"m.homeserver": {"base_url": req.services.config.baseurl}},
    }


@routes.post(*client_paths("/logout"), auth=Auth.USER)
async def logout(req: Request) -> dict[str, Any]:
    await req.services.login.logout(req.requester)
    return {}


@routes.post(*client_paths("/logout/all"), auth=Auth.USER)
async def logout_all(req: Request) -> dict[str, Any]:
    await req.services.login.logout_all(req.requester)
    return {}
