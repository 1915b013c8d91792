"""Synapse's ``GET /_synapse/admin/v1/users/{userId}/pushers``: a user's pushers, with
Glia's delivery health for each (last success, failing since, pushes queued)."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths

routes = RouteGroup()


@routes.get(*admin_paths("/v1/users/{userId}/pushers"), auth=Auth.ADMIN)
async def user_pushers(req: Request) -> dict[str, Any]:
    return await req.services.pushers.admin_pushers(req.path("userId"))
