"""``/presence/{userId}/status``."""

from __future__ import annotations

import msgspec

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.presence import PresenceStatus

routes = RouteGroup()


class PresenceBody(msgspec.Struct):
    #: ``online``, ``unavailable`` or ``offline``: the presence service owns the list.
    presence: str
    status_msg: str | None = None


@routes.get(*client_paths("/presence/{userId}/status"), auth=Auth.USER)
async def get_status(req: Request) -> PresenceStatus:
    return await req.services.presence.get_status(req.requester.user_id,
                                                  req.path("userId"))


@routes.put(*client_paths("/presence/{userId}/status"), auth=Auth.USER, body=PresenceBody)
async def set_status(req: Request[PresenceBody]) -> Empty:
    await req.services.presence.set_status(req.uow, req.path("userId"),
                                           req.body.presence, req.body.status_msg)
    return EMPTY
