"""Server discovery: ``/versions`` and the ``.well-known`` documents."""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec

from glia.http.client.responses import DiscoveryInfo, HomeserverInfo
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup

routes = RouteGroup()

SPEC_VERSIONS = [
    "r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1",
    "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10",
    "v1.11", "v1.12",
]


class Versions(msgspec.Struct, frozen=True):
    versions: list[str]
    unstable_features: dict[str, bool]


class ServerDiscovery(msgspec.Struct, frozen=True):
    """``/.well-known/matrix/server``: where federation reaches this server."""

    server: str = msgspec.field(name="m.server")


@routes.get("/_matrix/client/versions", auth=Auth.NONE)
async def versions(req: Request) -> Versions:
    return Versions(SPEC_VERSIONS, {})


@routes.get("/.well-known/matrix/client", auth=Auth.NONE)
async def well_known_client(req: Request) -> DiscoveryInfo:
    return DiscoveryInfo(HomeserverInfo(req.services.config.baseurl))


@routes.get("/.well-known/matrix/server", auth=Auth.NONE)
async def well_known_server(req: Request) -> ServerDiscovery:
    """The public URL's host, on the federation listener's port when that listener is
    on (federation is served there, not on the client port), else on the URL's port
    (a reverse proxy forwards federation with the rest)."""
    config = req.services.config
    parts = urlsplit(config.baseurl)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if config.federation.listener.enabled:
        port = config.federation.listener.port
    return ServerDiscovery(f"{parts.hostname}:{port}")
