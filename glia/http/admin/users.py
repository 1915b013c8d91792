"""Account administration on Synapse's paths (``/v2/users``, ``/v1/users/{id}/admin``,
``/v1/deactivate``, ``/v1/reset_password``, ``/v1/whois``), the spec's whois, and
Dendrite's ``resetPassword``."""

from __future__ import annotations

from typing import Any

from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths, client_paths, dendrite_paths
from glia.services.admin.user_requests import (
    AdminFlag,
    Deactivation,
    DendritePasswordReset,
    PasswordReset,
    UserPut,
)
from glia.services.admin.user_results import (
    AdminFlagValue,
    Deactivated,
    PasswordUpdated,
    UserDetails,
    UserList,
    Whois,
)
from glia.services.admin.users import UserListQuery

routes = RouteGroup()


def _user_query(req: Request, *, v3: bool) -> UserListQuery:
    if v3:
        deactivated = req.query_bool("deactivated")
    else:
        # v2: deactivated=true includes deactivated users; absent/false hides them.
        deactivated = None if req.query_bool("deactivated", False) else False
    return UserListQuery(
        user_id=req.query("user_id") or None, name=req.query("name") or None,
        guests=bool(req.query_bool("guests", True)), deactivated=deactivated,
        admins=req.query_bool("admins"), include_locked=bool(req.query_bool("locked", False)),
        not_user_types=tuple(req.raw.query_params.getlist("not_user_type")),
        order_by=req.query("order_by") or "name", backwards=page_params(req).backwards,
    )


async def _list(req: Request, v3: bool) -> UserList:
    page = page_params(req)
    return await req.services.user_admin.page(_user_query(req, v3=v3), page.offset,
                                              page.limit)


@routes.get(*admin_paths("/v2/users"), auth=Auth.ADMIN)
async def list_users_v2(req: Request) -> UserList:
    return await _list(req, v3=False)


@routes.get(*admin_paths("/v3/users"), auth=Auth.ADMIN)
async def list_users_v3(req: Request) -> UserList:
    return await _list(req, v3=True)


@routes.get(*admin_paths("/v2/users/{userId}"), auth=Auth.ADMIN)
async def get_user(req: Request) -> UserDetails:
    return await req.services.user_admin.get(req.path("userId"))


@routes.put(*admin_paths("/v2/users/{userId}"), auth=Auth.ADMIN, audit="users.put",
            body=UserPut)
async def put_user(req: Request[UserPut]) -> tuple[int, UserDetails]:
    user = await req.services.user_admin.put(req.uow, req.path("userId"), req.body)
    # 201 when the account was created: the service says so to the unit of work.
    return req.uow.success_status, user


@routes.get(*admin_paths("/v1/users/{userId}/admin"), auth=Auth.ADMIN)
async def get_admin(req: Request) -> AdminFlagValue:
    return AdminFlagValue(await req.services.user_admin.is_admin(req.path("userId")))


@routes.put(*admin_paths("/v1/users/{userId}/admin"), auth=Auth.ADMIN,
            audit="users.set_admin", body=AdminFlag)
async def put_admin(req: Request[AdminFlag]) -> dict[str, Any]:
    await req.services.user_admin.set_admin(req.uow, req.path("userId"), req.body)
    return {}


@routes.post(*admin_paths("/v1/deactivate/{userId}"), auth=Auth.ADMIN,
             audit="users.deactivate", body=Deactivation, empty_body=True)
async def deactivate(req: Request[Deactivation]) -> Deactivated:
    return await req.services.user_admin.deactivate(req.uow, req.path("userId"), req.body)


@routes.post(*admin_paths("/v1/reset_password/{userId}"), auth=Auth.ADMIN,
             audit="users.reset_password", body=PasswordReset)
async def reset_password(req: Request[PasswordReset]) -> dict[str, Any]:
    await req.services.user_admin.reset_password(req.uow, req.path("userId"), req.body)
    return {}


@routes.post(*dendrite_paths("/resetPassword/{userId}"), auth=Auth.ADMIN,
             audit="users.reset_password", body=DendritePasswordReset)
async def dendrite_reset_password(req: Request[DendritePasswordReset]) -> PasswordUpdated:
    return await req.services.user_admin.dendrite_reset_password(
        req.uow, req.path("userId"), req.body)


@routes.get(*admin_paths("/v1/whois/{userId}"),
            *client_paths("/admin/whois/{userId}", ("api/v1", "r0", "v3", "unstable")),
            auth=Auth.USER)
async def whois(req: Request) -> Whois:
    return await req.services.user_admin.whois(req.requester, req.path("userId"))
