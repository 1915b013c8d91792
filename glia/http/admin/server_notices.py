"""Server notices on Synapse's paths: ``POST /v1/send_server_notice`` and the idempotent
``PUT /v1/send_server_notice/{txnId}``."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths
from glia.services.admin.server_notices import ServerNotice

routes = RouteGroup()


@routes.post(*admin_paths("/v1/send_server_notice"), auth=Auth.ADMIN,
             audit="server_notices.send", body=ServerNotice)
async def send(req: Request[ServerNotice]) -> dict[str, Any]:
    return await req.services.server_notices.send(req.uow, req.body, None)


@routes.put(*admin_paths("/v1/send_server_notice/{txnId}"), auth=Auth.ADMIN,
            audit="server_notices.send", body=ServerNotice)
async def send_idempotent(req: Request[ServerNotice]) -> dict[str, Any]:
    return await req.services.server_notices.send(req.uow, req.body, req.path("txnId"))
