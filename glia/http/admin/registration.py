"""Shared-secret registration, ``/_synapse/admin/v1/register`` (``register_new_matrix_user``)."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup

routes = RouteGroup()


@routes.get("/_synapse/admin/v1/register", auth=Auth.SHARED_SECRET)
async def get_nonce(req: Request) -> dict[str, Any]:
    return {"nonce": await req.services.registration.new_nonce()}


@routes.post("/_synapse/admin/v1/register", auth=Auth.SHARED_SECRET)
async def register(req: Request) -> dict[str, Any]:
    req.services.registration.require_shared_secret()
    registered = await req.services.registration.register_with_shared_secret(req.json())
    return registered.to_json(req.services.config.server_name)
