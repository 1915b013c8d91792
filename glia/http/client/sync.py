"""``/sync`` and the filters it takes (``/user/{userId}/filter``)."""

from __future__ import annotations

import msgspec

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.filters import FilterDefinition, StoredFilter
from glia.services.sync import SyncRequest, parse_since
from glia.services.sync_response import SyncResponse

routes = RouteGroup()


@routes.get(*client_paths("/sync"), auth=Auth.USER)
async def sync(req: Request) -> SyncResponse:
    requester = req.requester
    since = parse_since(req.query("since"))
    sync_filter = await req.services.filters.for_sync(requester.user_id, req.query("filter"))
    return await req.services.sync.sync(SyncRequest(
        user_id=requester.user_id, device_id=requester.device_id, since=since,
        filter=sync_filter, full_state=bool(req.query_bool("full_state", False)),
        timeout_ms=req.query_int("timeout", 0) or 0,
        set_presence=req.query("set_presence"),
    ))


class FilterIdResponse(msgspec.Struct):
    filter_id: str


@routes.post(*client_paths("/user/{userId}/filter"), auth=Auth.USER, body=FilterDefinition)
async def create_filter(req: Request[FilterDefinition]) -> FilterIdResponse:
    return FilterIdResponse(await req.services.filters.create(
        req.uow, req.path("userId"), req.body))


@routes.get(*client_paths("/user/{userId}/filter/{filterId}"), auth=Auth.USER)
async def get_filter(req: Request) -> StoredFilter:
    return await req.services.filters.get(req.requester.user_id, req.path("userId"),
                                          req.path("filterId"))
