"""Send-to-device messaging: ``PUT /sendToDevice/{eventType}/{txnId}``."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


@routes.put(*client_paths("/sendToDevice/{eventType}/{txnId}"), auth=Auth.USER,
            ratelimit="default")
async def send_to_device(req: Request) -> dict[str, Any]:
    await req.services.to_device.send(req.requester, req.path("eventType"), req.path("txnId"),
                                      req.json())
    return {}
