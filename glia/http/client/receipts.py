"""Read receipts and read markers."""

from __future__ import annotations

import msgspec

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


class ReceiptBody(msgspec.Struct):
    """A receipt's thread (``main``, a thread root's event ID, or none: unthreaded)."""

    thread_id: str | None = None


class ReadMarkersBody(msgspec.Struct):
    fully_read: str | None = msgspec.field(default=None, name="m.fully_read")
    read: str | None = msgspec.field(default=None, name="m.read")
    read_private: str | None = msgspec.field(default=None, name="m.read.private")


@routes.post(*client_paths("/rooms/{roomId}/receipt/{receiptType}/{eventId}"),
             auth=Auth.USER, body=ReceiptBody, empty_body=True)
async def receipt(req: Request[ReceiptBody]) -> Empty:
    await req.services.receipts.receipt(req.uow, req.path("roomId"),
                                        req.path("receiptType"), req.path("eventId"),
                                        req.body.thread_id)
    return EMPTY


@routes.post(*client_paths("/rooms/{roomId}/read_markers"), auth=Auth.USER,
             body=ReadMarkersBody)
async def read_markers(req: Request[ReadMarkersBody]) -> Empty:
    body = req.body
    await req.services.receipts.read_markers(
        req.uow, req.path("roomId"), fully_read=body.fully_read,
        read=body.read, read_private=body.read_private)
    return EMPTY
