"""``/register``, ``/register/available`` and the registration-token validity check."""

from __future__ import annotations

from typing import Any

import msgspec

from glia import errors
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.http.uia import stage_auth
from glia.services.login import APPSERVICE_LOGIN
from glia.services.registration import GuestAccount, NewAccount, Registered

routes = RouteGroup()


class RegisterBody(NewAccount):
    """The account to create, and the UIA ``auth`` dict (decoded by its stage type);
    ``type`` is ``m.login.application_service`` when an application service registers
    one of its users (no UIA then)."""

    auth: dict[str, Any] | None = None
    type: str | None = None


class Availability(msgspec.Struct, frozen=True):
    #: Always true: a taken or invalid name is an error instead.
    available: bool


class TokenValidity(msgspec.Struct, frozen=True):
    valid: bool


@routes.post(*client_paths("/register"), auth=Auth.APPSERVICE_OPTIONAL, ratelimit="register",
             body=RegisterBody)
async def register(req: Request[RegisterBody]) -> Registered:
    if req.body.type == APPSERVICE_LOGIN:
        return await req.services.appservice_users.register(req.requester, req.body)
    kind = req.query("kind") or "user"
    if kind == "guest":
        body = req.body
        return await req.services.registration.register_guest(
            GuestAccount(body.initial_device_display_name))
    if kind != "user":
        raise errors.invalid_param("kind must be 'user' or 'guest'")
    return await req.services.registration.register_with_uia(req.body,
                                                             stage_auth(req.body.auth))


@routes.get(*client_paths("/register/available"), auth=Auth.NONE, ratelimit="register")
async def available(req: Request) -> Availability:
    username = req.query("username")
    if not username:
        raise errors.missing_param("Missing required query parameter username")
    await req.services.registration.check_available(username.lower())
    return Availability(True)


@routes.get(*client_paths("/register/m.login.registration_token/validity", ("v1",)),
            auth=Auth.NONE, ratelimit="register")
async def registration_token_validity(req: Request) -> TokenValidity:
    valid = await req.services.registration.registration_token_valid(req.query("token"))
    return TokenValidity(valid)
