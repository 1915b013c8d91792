"""Server notices on Synapse's paths: ``POST /v1/send_server_notice`` and the idempotent
``PUT /v1/send_server_notice/{txnId}``."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths

routes = RouteGroup()


@routes.post(*admin_paths("/v1/send_server_notice"), auth=Auth.ADMIN,
             audit="server_notices.send")
async def send(req: Request) -> dict[str, Any]:
    return await req.services.server_notices.send(req.requester, req.json(), None)


@routes.put(*admin_paths("/v1/send_server_notice/{txnId}"), auth=Auth.ADMIN,
            audit="server_notices.send")
async def send_idempotent(req: Request) -> dict[str, Any]:
    return await req.services.server_notices.send(req.requester, req.json(),
                                                  req.path("txnId"))
