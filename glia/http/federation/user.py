"""``user/devices``, ``user/keys/query`` and ``user/keys/claim``: our users' devices and
end-to-end keys, for remote servers whose users talk to ours."""

from __future__ import annotations

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, federation_paths
from glia.services.federation.queries import ClaimedKeys, UserDevices, UserKeys
from glia.services.keys import KeysClaim, KeysQuery

routes = RouteGroup()


@routes.get(*federation_paths("/user/devices/{userId}"), auth=Auth.SERVER)
async def user_devices(req: Request) -> UserDevices:
    return await req.services.federation_queries.devices(req.path("userId"))


@routes.post(*federation_paths("/user/keys/query"), auth=Auth.SERVER, body=KeysQuery)
async def keys_query(req: Request[KeysQuery]) -> UserKeys:
    return await req.services.federation_queries.user_keys(req.body)


@routes.post(*federation_paths("/user/keys/claim"), auth=Auth.SERVER, body=KeysClaim)
async def keys_claim(req: Request[KeysClaim]) -> ClaimedKeys:
    return await req.services.federation_queries.claim(req.uow, req.body)
