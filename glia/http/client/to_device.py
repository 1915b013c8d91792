"""Send-to-device messaging: ``PUT /sendToDevice/{eventType}/{txnId}``."""

from __future__ import annotations

import msgspec

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.to_device import Messages

routes = RouteGroup()


class ToDeviceBody(msgspec.Struct):
    messages: Messages


@routes.put(*client_paths("/sendToDevice/{eventType}/{txnId}"), auth=Auth.USER,
            ratelimit="default", body=ToDeviceBody)
async def send_to_device(req: Request[ToDeviceBody]) -> Empty:
    await req.services.to_device.send(req.uow, req.path("eventType"), req.path("txnId"),
                                      req.body.messages)
    return EMPTY
