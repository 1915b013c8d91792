"""Synapse's statistics: ``/v1/statistics/users/media`` (media use per uploader) and
``/v1/statistics/database/rooms`` (the rooms taking the most space)."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths
from glia.services.admin.statistics import USER_MEDIA_ORDER, UserMediaQuery

routes = RouteGroup()


@routes.get(*admin_paths("/v1/statistics/users/media"), auth=Auth.ADMIN)
async def users_media(req: Request) -> dict[str, Any]:
    order_by = req.query("order_by") or "user_id"
    if order_by not in USER_MEDIA_ORDER:
        raise errors.invalid_param("Query parameter 'order_by' must be one of ["
                                   + ", ".join(repr(k) for k in USER_MEDIA_ORDER) + "]")
    page = page_params(req)
    from_ts = req.query_int("from_ts", 0, clamp=False) or 0
    until_ts = req.query_int("until_ts", clamp=False)
    if until_ts is not None and until_ts <= from_ts:
        raise errors.invalid_param("Query parameter until_ts must be greater than from_ts.")
    search_term = req.query("search_term")
    if search_term == "":
        raise errors.invalid_param("Query parameter search_term cannot be an empty string.")
    query = UserMediaQuery(from_ts=from_ts, until_ts=until_ts, search_term=search_term,
                           order_by=order_by, backwards=page.backwards)
    users, total = await req.services.statistics_admin.users_media(query, page.offset,
                                                                   page.limit)
    body: dict[str, Any] = {"users": users, "total": total}
    following = page.next_token(len(users), total)
    if following is not None:
        body["next_token"] = following
    return body


# Synapse lists a fixed ten rooms; tools send from/limit anyway, and they are ignored.
@routes.get(*admin_paths("/v1/statistics/database/rooms"), auth=Auth.ADMIN)
async def database_rooms(req: Request) -> dict[str, Any]:
    return await req.services.statistics_admin.database_rooms()
