"""``/login``, ``/logout`` and ``/logout/all``."""

from __future__ import annotations

import msgspec

from glia.http.client.responses import EMPTY, DiscoveryInfo, Empty, HomeserverInfo
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.login import AppServiceLogin, LoginFlow, LoginType

routes = RouteGroup()


class LoginFlows(msgspec.Struct, frozen=True):
    flows: list[LoginFlow]


class LoginResponse(msgspec.Struct, frozen=True):
    user_id: str
    access_token: str
    device_id: str
    home_server: str
    well_known: DiscoveryInfo


@routes.get(*client_paths("/login"), auth=Auth.NONE)
async def login_flows(req: Request) -> LoginFlows:
    return LoginFlows(req.services.login.flows())


@routes.post(*client_paths("/login"), auth=Auth.APPSERVICE_OPTIONAL, ratelimit="login",
             body=LoginType)
async def login(req: Request[LoginType]) -> LoginResponse:
    # The rest of the body's shape depends on its type.
    command = req.typed(req.services.login.login_model(req.body.type))
    if isinstance(command, AppServiceLogin):
        done = await req.services.login.login_app_service(req.requester, command)
    else:
        done = await req.services.login.login(command)
    config = req.services.config
    return LoginResponse(done.user_id, done.access_token, done.device_id,
                         config.server_name, DiscoveryInfo(HomeserverInfo(config.baseurl)))


@routes.post(*client_paths("/logout"), auth=Auth.USER, allow_expired=True)
async def logout(req: Request) -> Empty:
    await req.services.login.logout(req.requester)
    return EMPTY


@routes.post(*client_paths("/logout/all"), auth=Auth.USER, allow_expired=True)
async def logout_all(req: Request) -> Empty:
    await req.services.login.logout_all(req.requester)
    return EMPTY
