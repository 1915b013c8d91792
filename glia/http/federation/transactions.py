"""``PUT /_matrix/federation/v1/send/{txnId}``: another server's transaction of PDUs and
EDUs."""

from __future__ import annotations

from typing import Any

import msgspec

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, federation_paths

routes = RouteGroup()


class Transaction(msgspec.Struct):
    """The spec's Transaction; ``origin`` is the verified one of the request."""

    pdus: list[Any]
    edus: list[Any] = []
    origin_server_ts: int | None = None


@routes.put(*federation_paths("/send/{txnId}"), auth=Auth.SERVER, body=Transaction)
async def send_transaction(req: Request[Transaction]) -> dict[str, Any]:
    assert req.origin is not None
    return await req.services.federation_transactions.receive(
        req.origin, req.path("txnId"), req.body.pdus, req.body.edus)
