"""Synapse's statistics: ``/v1/statistics/users/media`` (media use per uploader) and
``/v1/statistics/database/rooms`` (the rooms taking the most space)."""

from __future__ import annotations

from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths
from glia.services.admin.statistics import DatabaseRooms, UserMediaQuery, UsersMedia

routes = RouteGroup()


@routes.get(*admin_paths("/v1/statistics/users/media"), auth=Auth.ADMIN)
async def users_media(req: Request) -> UsersMedia:
    page = page_params(req)
    query = UserMediaQuery(from_ts=req.query_int("from_ts", 0, clamp=False) or 0,
                           until_ts=req.query_int("until_ts", clamp=False),
                           search_term=req.query("search_term"),
                           order_by=req.query("order_by") or "user_id",
                           backwards=page.backwards)
    return await req.services.statistics_admin.users_media(query, page.offset, page.limit)


# Synapse lists a fixed ten rooms; tools send from/limit anyway, and they are ignored.
@routes.get(*admin_paths("/v1/statistics/database/rooms"), auth=Auth.ADMIN)
async def database_rooms(req: Request) -> DatabaseRooms:
    return await req.services.statistics_admin.database_rooms()
