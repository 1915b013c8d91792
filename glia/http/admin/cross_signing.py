"""``/v1/users/{userId}/_allow_cross_signing_replacement_without_uia`` (Synapse)."""

from __future__ import annotations

import msgspec

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths

routes = RouteGroup()


class EmptyBody(msgspec.Struct):
    """Synapse takes ``{}`` (or nothing); any fields are ignored."""


class ReplacementWindow(msgspec.Struct):
    updatable_without_uia_before_ms: int


@routes.post(*admin_paths("/v1/users/{userId}/_allow_cross_signing_replacement_without_uia"),
             auth=Auth.ADMIN, audit="users.allow_cross_signing_replacement",
             body=EmptyBody, empty_body=True)
async def allow_replacement(req: Request[EmptyBody]) -> ReplacementWindow:
    before_ms = await req.services.cross_signing_admin.allow_replacement_without_uia(
        req.uow, req.path("userId"))
    return ReplacementWindow(updatable_without_uia_before_ms=before_ms)
