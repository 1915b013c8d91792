"""The rest of Synapse's user admin API that admin tools call: a user's rooms and
memberships, suspension, shadow-bans, impersonation, username availability, lookups by
3PID and SSO identity, account data, and redaction of a user's events (a job)."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths
from glia.services.admin.redact import RedactRequest
from glia.services.admin.user_requests import LoginAs, Suspension
from glia.services.admin.user_results import LoginAsToken

routes = RouteGroup()


@routes.get(*admin_paths("/v1/users/{userId}/joined_rooms"), auth=Auth.ADMIN)
async def joined_rooms(req: Request) -> dict[str, Any]:
    return await req.services.user_lookup.joined_rooms(req.path("userId"))


@routes.get(*admin_paths("/v1/users/{userId}/memberships"), auth=Auth.ADMIN)
async def memberships(req: Request) -> dict[str, Any]:
    return await req.services.user_lookup.memberships(req.path("userId"))


@routes.get(*admin_paths("/v1/search_users/{userId}"), auth=Auth.ADMIN)
async def search_users(req: Request) -> list[dict[str, Any]]:
    """Synapse's legacy user search: a bare JSON list."""
    return await req.services.user_lookup.search_users(req.path("userId"), req.query("term"))


@routes.get(*admin_paths("/v1/users/{userId}/accountdata"), auth=Auth.ADMIN)
async def account_data(req: Request) -> dict[str, Any]:
    return await req.services.user_lookup.account_data(req.path("userId"))


@routes.put(*admin_paths("/v1/suspend/{userId}"), auth=Auth.ADMIN, audit="users.suspend",
            body=Suspension)
async def suspend(req: Request[Suspension]) -> dict[str, bool]:
    return await req.services.user_admin.suspend(req.uow, req.path("userId"), req.body)


# The body is ignored: tools send ``{}`` or nothing.
@routes.post(*admin_paths("/v1/users/{userId}/shadow_ban"), auth=Auth.ADMIN,
             audit="users.shadow_ban")
async def shadow_ban(req: Request) -> dict[str, Any]:
    await req.services.user_admin.set_shadow_ban(req.uow, req.path("userId"), True)
    return {}


@routes.delete(*admin_paths("/v1/users/{userId}/shadow_ban"), auth=Auth.ADMIN,
               audit="users.unshadow_ban")
async def remove_shadow_ban(req: Request) -> dict[str, Any]:
    await req.services.user_admin.set_shadow_ban(req.uow, req.path("userId"), False)
    return {}


@routes.post(*admin_paths("/v1/users/{userId}/login"), auth=Auth.ADMIN,
             audit="users.login_as", body=LoginAs, empty_body=True)
async def login_as(req: Request[LoginAs]) -> LoginAsToken:
    return await req.services.user_admin.login_as(req.uow, req.path("userId"), req.body)


@routes.get(*admin_paths("/v1/username_available"), auth=Auth.ADMIN)
async def username_available(req: Request) -> dict[str, Any]:
    return await req.services.user_lookup.username_available(req.query("username"))


@routes.get(*admin_paths("/v1/threepid/{medium}/users/{address}"), auth=Auth.ADMIN)
async def user_by_threepid(req: Request) -> dict[str, Any]:
    return await req.services.user_lookup.by_threepid(req.path("medium"), req.path("address"))


@routes.get(*admin_paths("/v1/auth_providers/{provider}/users/{externalId}"),
            auth=Auth.ADMIN)
async def user_by_external_id(req: Request) -> dict[str, Any]:
    return await req.services.user_lookup.by_external_id(req.path("provider"),
                                                         req.path("externalId"))


@routes.post(*admin_paths("/v1/user/{userId}/redact"), auth=Auth.ADMIN,
             audit="users.redact_events", body=RedactRequest)
async def redact_events(req: Request[RedactRequest]) -> dict[str, Any]:
    return await req.services.user_redact.redact(req.uow, req.path("userId"), req.body)


@routes.get(*admin_paths("/v1/user/redact_status/{redactId}"), auth=Auth.ADMIN)
async def redact_status(req: Request) -> dict[str, Any]:
    return await req.services.user_redact.status(req.path("redactId"))
