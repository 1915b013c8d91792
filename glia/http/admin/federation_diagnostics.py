"""Glia's federation diagnostics under ``/_glia/admin/v1/federation/``: resolve a
server name step by step, fetch and verify its keys, ask its version. Each is audited:
they make outbound requests (and refresh the key cache)."""

from __future__ import annotations

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, glia_paths
from glia.services.admin.federation_diagnostics import KeysReport, ResolveReport, VersionReport

routes = RouteGroup()


@routes.route("GET", *glia_paths("/v1/federation/resolve/{serverName}"), auth=Auth.ADMIN,
              audit="federation.resolve")
async def resolve(req: Request) -> ResolveReport:
    return await req.services.federation_diagnostics.resolve(req.path("serverName"))


@routes.route("GET", *glia_paths("/v1/federation/keys/{serverName}"), auth=Auth.ADMIN,
              audit="federation.keys")
async def keys(req: Request) -> KeysReport:
    return await req.services.federation_diagnostics.keys(req.path("serverName"))


@routes.route("GET", *glia_paths("/v1/federation/version/{serverName}"), auth=Auth.ADMIN,
              audit="federation.version")
async def version(req: Request) -> VersionReport:
    return await req.services.federation_diagnostics.version(req.path("serverName"))
