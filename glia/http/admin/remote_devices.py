"""Dendrite's ``POST /_dendrite/admin/refreshDevices/{userID}`` (no body): fetch another
server's user's device list from their server again, for "they can't decrypt"."""

from __future__ import annotations

import msgspec

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, dendrite_paths

routes = RouteGroup()


class Empty(msgspec.Struct, frozen=True):
    pass


@routes.post(*dendrite_paths("/refreshDevices/{userId}"), auth=Auth.ADMIN,
             audit="devices.refresh_remote")
async def refresh_devices(req: Request) -> Empty:
    await req.services.remote_device_lists.refresh(req.path("userId"))
    return Empty()
