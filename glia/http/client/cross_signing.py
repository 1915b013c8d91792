"""Cross-signing: ``/keys/device_signing/upload`` and ``/keys/signatures/upload``."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


# Cross-signing arrived in v1.1, after r0 (Synapse serves this one on v3 only).
@routes.post(*client_paths("/keys/device_signing/upload", ("v3",)), auth=Auth.USER)
async def upload_signing_keys(req: Request) -> dict[str, Any]:
    return await req.services.cross_signing.upload_signing_keys(req.requester, req.json())


@routes.post(*client_paths("/keys/signatures/upload"), auth=Auth.USER)
async def upload_signatures(req: Request) -> dict[str, Any]:
    return await req.services.cross_signing.upload_signatures(req.requester, req.json())
