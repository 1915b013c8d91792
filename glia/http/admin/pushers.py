"""Synapse's ``GET /_synapse/admin/v1/users/{userId}/pushers``: a user's pushers with
exactly Synapse's fields; Glia's mount adds each one's delivery health (last success,
failing since, pushes queued)."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, glia_paths

routes = RouteGroup()


@routes.get("/_synapse/admin/v1/users/{userId}/pushers", auth=Auth.ADMIN)
async def user_pushers(req: Request) -> dict[str, Any]:
    return await req.services.pushers.admin_pushers(req.path("userId"), health=False)


@routes.get(*glia_paths("/v1/users/{userId}/pushers"), auth=Auth.ADMIN)
async def user_pushers_with_health(req: Request) -> dict[str, Any]:
    return await req.services.pushers.admin_pushers(req.path("userId"), health=True)
