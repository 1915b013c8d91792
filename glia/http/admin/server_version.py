"""``/_synapse/admin/v1/server_version``: unauthenticated, as in Synapse."""

from __future__ import annotations

from typing import Any

from glia import __version__
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup

routes = RouteGroup()


@routes.get("/_synapse/admin/v1/server_version", auth=Auth.NONE)
async def server_version(req: Request) -> dict[str, Any]:
    return {"server_version": f"Glia {__version__}"}
