"""Client-Server endpoints of application services: ping, third-party lookups answered
from the services' protocols, and each service's room directory per network."""

from __future__ import annotations

import msgspec

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.appservices.queries import (
    ThirdPartyProtocol,
    ThirdPartyProtocols,
    ThirdPartyResults,
)

routes = RouteGroup()


class PingBody(msgspec.Struct):
    transaction_id: str | None = None


class PingResponse(msgspec.Struct, frozen=True):
    duration_ms: int


class NetworkVisibility(msgspec.Struct):
    visibility: str = "public"


@routes.post(*client_paths("/appservice/{appserviceId}/ping", ("v1",)),
             auth=Auth.APPSERVICE, body=PingBody, empty_body=True)
async def ping(req: Request[PingBody]) -> PingResponse:
    duration = await req.services.appservice_queries.ping(
        req.requester, req.path("appserviceId"), req.body.transaction_id)
    return PingResponse(duration)


@routes.get(*client_paths("/thirdparty/protocols"), auth=Auth.USER)
async def protocols(req: Request) -> ThirdPartyProtocols:
    return await req.services.appservice_queries.protocols()


@routes.get(*client_paths("/thirdparty/protocol/{protocol}"), auth=Auth.USER)
async def protocol(req: Request) -> ThirdPartyProtocol:
    return await req.services.appservice_queries.protocol(req.path("protocol"))


def _fields(req: Request) -> dict[str, str]:
    return {k: v for k, v in req.raw.query_params.items() if k != "access_token"}


@routes.get(*client_paths("/thirdparty/location"), auth=Auth.USER)
async def locations_by_alias(req: Request) -> ThirdPartyResults:
    return await req.services.appservice_queries.lookup("location", None, _fields(req))


@routes.get(*client_paths("/thirdparty/user"), auth=Auth.USER)
async def users_by_id(req: Request) -> ThirdPartyResults:
    return await req.services.appservice_queries.lookup("user", None, _fields(req))


@routes.get(*client_paths("/thirdparty/location/{protocol}"), auth=Auth.USER)
async def locations(req: Request) -> ThirdPartyResults:
    return await req.services.appservice_queries.lookup("location", req.path("protocol"),
                                                        _fields(req))


@routes.get(*client_paths("/thirdparty/user/{protocol}"), auth=Auth.USER)
async def users(req: Request) -> ThirdPartyResults:
    return await req.services.appservice_queries.lookup("user", req.path("protocol"),
                                                        _fields(req))


@routes.put(*client_paths("/directory/list/appservice/{networkId}/{roomId}"),
            auth=Auth.APPSERVICE, body=NetworkVisibility, empty_body=True)
async def list_in_network(req: Request[NetworkVisibility]) -> Empty:
    await req.services.appservice_queries.set_listed(
        req.uow, req.path("networkId"), req.path("roomId"),
        req.body.visibility == "public")
    return EMPTY


@routes.delete(*client_paths("/directory/list/appservice/{networkId}/{roomId}"),
               auth=Auth.APPSERVICE)
async def unlist_in_network(req: Request) -> Empty:
    await req.services.appservice_queries.set_listed(
        req.uow, req.path("networkId"), req.path("roomId"), False)
    return EMPTY
