"""Server discovery: ``/versions`` and the ``.well-known`` documents."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup

routes = RouteGroup()

SPEC_VERSIONS = [
    "r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1",
    "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10",
    "v1.11", "v1.12",
]


@routes.get("/_matrix/client/versions", auth=Auth.NONE)
async def versions(req: Request) -> dict[str, Any]:
    return {"versions": SPEC_VERSIONS, "unstable_features": {}}


@routes.get("/.well-known/matrix/client", auth=Auth.NONE)
async def well_known_client(req: Request) -> dict[str, Any]:
    return {"m.homeserver": {"base_url": req.services.config.baseurl}}


@routes.get("/.well-known/matrix/server", auth=Auth.NONE)
async def well_known_server(req: Request) -> dict[str, Any]:
    parts = urlsplit(req.services.config.baseurl)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return {"m.server": f"{parts.hostname}:{port}"}
