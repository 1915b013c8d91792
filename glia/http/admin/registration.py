"""Shared-secret registration, ``/_synapse/admin/v1/register`` (``register_new_matrix_user``)."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup
from glia.services.shared_secret_registration import SharedSecretRegistration

routes = RouteGroup()


#: Unauthenticated, and served even with no shared secret configured (as Synapse does).
@routes.get("/_synapse/admin/v1/register", auth=Auth.NONE)
async def get_nonce(req: Request) -> dict[str, Any]:
    return {"nonce": await req.services.shared_secret_registration.new_nonce()}


@routes.post("/_synapse/admin/v1/register", auth=Auth.SHARED_SECRET,
             body=SharedSecretRegistration)
async def register(req: Request[SharedSecretRegistration]) -> dict[str, Any]:
    registered = await req.services.shared_secret_registration.register(req.body)
    return registered.to_json(req.services.config.server_name)
