"""Account administration on Synapse's paths (``/v2/users``, ``/v1/users/{id}/admin``,
``/v1/deactivate``, ``/v1/reset_password``, ``/v1/whois``), the spec's whois, and
Dendrite's ``resetPassword``."""

from __future__ import annotations

from typing import Any

from glia import errors
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
from glia.services.admin.users import USER_ORDER, UserListQuery

routes = RouteGroup()


def _user_query(req: Request, *, v3: bool) -> UserListQuery:
    order_by = req.query("order_by") or "name"
    if order_by not in USER_ORDER:
        raise errors.invalid_param(
            f"Query parameter 'order_by' must be one of {sorted(USER_ORDER)}")
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
        order_by=order_by, backwards=page_params(req).backwards,
    )


async def _list(req: Request, v3: bool) -> dict[str, Any]:
    page = page_params(req)
    users, total = await req.services.user_admin.page(_user_query(req, v3=v3), page.offset,
                                                      page.limit)
    body: dict[str, Any] = {"users": users, "total": total}
    following = page.next_token(len(users), total)
    if following is not None:
        body["next_token"] = str(following)
    return body


@routes.get(*admin_paths("/v2/users"), auth=Auth.ADMIN)
async def list_users_v2(req: Request) -> dict[str, Any]:
    return await _list(req, v3=False)


@routes.get(*admin_paths("/v3/users"), auth=Auth.ADMIN)
async def list_users_v3(req: Request) -> dict[str, Any]:
    return await _list(req, v3=True)


@routes.get(*admin_paths("/v2/users/{userId}"), auth=Auth.ADMIN)
async def get_user(req: Request) -> dict[str, Any]:
    return await req.services.user_admin.get(req.path("userId"))


@routes.put(*admin_paths("/v2/users/{userId}"), auth=Auth.ADMIN, audit="users.put",
            body=UserPut)
async def put_user(req: Request[UserPut]) -> tuple[int, dict[str, Any]]:
    created, user = await req.services.user_admin.put(req.uow, req.path("userId"), req.body)
    return (201 if created else 200), user


@routes.get(*admin_paths("/v1/users/{userId}/admin"), auth=Auth.ADMIN)
async def get_admin(req: Request) -> dict[str, Any]:
    return {"admin": await req.services.user_admin.is_admin(req.path("userId"))}


@routes.put(*admin_paths("/v1/users/{userId}/admin"), auth=Auth.ADMIN,
            audit="users.set_admin", body=AdminFlag)
async def put_admin(req: Request[AdminFlag]) -> dict[str, Any]:
    await req.services.user_admin.set_admin(req.uow, req.path("userId"), req.body)
    return {}


@routes.post(*admin_paths("/v1/deactivate/{userId}"), auth=Auth.ADMIN,
             audit="users.deactivate", body=Deactivation, empty_body=True)
async def deactivate(req: Request[Deactivation]) -> dict[str, Any]:
    return await req.services.user_admin.deactivate(req.uow, req.path("userId"), req.body)


@routes.post(*admin_paths("/v1/reset_password/{userId}"), auth=Auth.ADMIN,
             audit="users.reset_password", body=PasswordReset)
async def reset_password(req: Request[PasswordReset]) -> dict[str, Any]:
    await req.services.user_admin.reset_password(req.uow, req.path("userId"), req.body)
    return {}


@routes.post(*dendrite_paths("/resetPassword/{userId}"), auth=Auth.ADMIN,
             audit="users.reset_password", body=DendritePasswordReset)
async def dendrite_reset_password(req: Request[DendritePasswordReset]) -> dict[str, Any]:
    return await req.services.user_admin.dendrite_reset_password(
        req.uow, req.path("userId"), req.body)


@routes.get(*admin_paths("/v1/whois/{userId}"),
            *client_paths("/admin/whois/{userId}", ("r0", "v3")), auth=Auth.USER)
async def whois(req: Request) -> dict[str, Any]:
    return await req.services.user_admin.whois(req.requester, req.path("userId"))
