"""Read receipts and read markers."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


@routes.post(*client_paths("/rooms/{roomId}/receipt/{receiptType}/{eventId}"),
             auth=Auth.USER)
async def receipt(req: Request) -> dict[str, Any]:
    await req.services.receipts.receipt(req.requester.user_id, req.path("roomId"),
                                        req.path("receiptType"), req.path("eventId"),
                                        req.json_or_empty())
    return {}


@routes.post(*client_paths("/rooms/{roomId}/read_markers"), auth=Auth.USER)
async def read_markers(req: Request) -> dict[str, Any]:
    await req.services.receipts.read_markers(req.requester.user_id, req.path("roomId"),
                                             req.json())
    return {}
