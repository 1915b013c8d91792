"""``/_glia/admin/v1/testing/clock``: move the server's clock forward, so a test suite
driving a real server can make tokens, uploads and sessions expire without waiting.
Registered only with ``testing.clock_control`` on (see :func:`glia.http.admin_routes`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from glia import errors
from glia.clock import OffsetClock
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, glia_paths

routes = RouteGroup()

#: At most a year at once: enough for any expiry, and far from overflowing a timestamp.
MAX_ADVANCE_MS = 366 * 24 * 3600 * 1000


class AdvanceClock(msgspec.Struct, forbid_unknown_fields=True):
    advance_ms: Annotated[int, msgspec.Meta(ge=0, le=MAX_ADVANCE_MS)]


@routes.post(*glia_paths("/v1/testing/clock"), auth=Auth.ADMIN, audit="testing.clock",
             body=AdvanceClock)
async def advance_clock(req: Request[AdvanceClock]) -> dict[str, Any]:
    clock = req.services.clock
    if not isinstance(clock, OffsetClock):
        raise errors.unrecognized()
    async with req.uow.transaction():
        clock.advance(req.body.advance_ms / 1000)
    return {"now_ms": clock.now_ms()}
