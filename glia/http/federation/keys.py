"""``/_matrix/key/v2``: our published signing keys and the notary API."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from glia import errors
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup
from glia.protocol.canonical_json import SAFE_INT_MAX
from glia.services.federation.keys import KeyWanted

routes = RouteGroup()

#: Servers one notary query may name (each may cost an outbound fetch).
MAX_QUERIED_SERVERS = 50

Timestamp = Annotated[int, msgspec.Meta(ge=0, le=SAFE_INT_MAX)]


class KeyCriteria(msgspec.Struct):
    minimum_valid_until_ts: Timestamp | None = None


class KeyQueryBody(msgspec.Struct):
    """``POST /_matrix/key/v2/query``: server name → key ID → criteria."""

    server_keys: dict[str, dict[str, KeyCriteria]]

    def __post_init__(self) -> None:
        if len(self.server_keys) > MAX_QUERIED_SERVERS:
            raise errors.invalid_param(
                f"At most {MAX_QUERIED_SERVERS} servers may be queried at once")


class ServerKeys(msgspec.Struct, frozen=True):
    server_keys: list[dict[str, Any]]


@routes.get("/_matrix/key/v2/server", auth=Auth.NONE)
async def own_keys(req: Request) -> dict[str, Any]:
    return await req.services.server_keys.own_response()


# The form naming a key ID that older versions of the spec had (deprecated there, with
# the advice to answer every key whatever the ID), which older servers may still ask.
routes.get("/_matrix/key/v2/server/{keyId}", auth=Auth.NONE)(own_keys)


@routes.get("/_matrix/key/v2/query/{serverName}", auth=Auth.NONE)
async def query_server(req: Request) -> ServerKeys:
    minimum = req.query_int("minimum_valid_until_ts", clamp=False)
    return ServerKeys(await req.services.server_keys.query(
        {req.path("serverName"): KeyWanted((), minimum)}))


@routes.post("/_matrix/key/v2/query", auth=Auth.NONE, body=KeyQueryBody)
async def query(req: Request[KeyQueryBody]) -> ServerKeys:
    wanted = {server: KeyWanted(tuple(keys), max(
                  (c.minimum_valid_until_ts for c in keys.values()
                   if c.minimum_valid_until_ts is not None), default=None))
              for server, keys in req.body.server_keys.items()}
    return ServerKeys(await req.services.server_keys.query(wanted))
