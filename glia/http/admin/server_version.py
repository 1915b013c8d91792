"""``/_synapse/admin/v1/server_version``: unauthenticated, as in Synapse."""

from __future__ import annotations

import msgspec

from glia import __version__
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup

routes = RouteGroup()


class ServerVersion(msgspec.Struct):
    server_version: str


@routes.get("/_synapse/admin/v1/server_version", auth=Auth.NONE)
async def server_version(req: Request) -> ServerVersion:
    return ServerVersion(f"Glia {__version__}")
