"""``POST /_glia/admin/v1/user_directory/rebuild``: regenerate the user directory as a
job (what Synapse's ``regenerate_directory`` background update does)."""

from __future__ import annotations

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, glia_paths

routes = RouteGroup()


@routes.post(*glia_paths("/v1/user_directory/rebuild"), auth=Auth.ADMIN,
             audit="user_directory.rebuild", empty_body=True)
async def rebuild(req: Request) -> dict[str, str]:
    return await req.services.user_directory.rebuild(req.uow)
