"""Synapse's ``/v1/purge_media_cache``: drop cached copies of other servers' media."""

from __future__ import annotations

import msgspec

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths

routes = RouteGroup()


class Purged(msgspec.Struct):
    deleted: int


@routes.post(*admin_paths("/v1/purge_media_cache"), auth=Auth.ADMIN,
             audit="media.purge_cache")
async def purge_media_cache(req: Request) -> Purged:
    """Copies last read before ``before_ts`` (ms, required)."""
    before_ts = req.query_int("before_ts", required=True, clamp=False)
    assert before_ts is not None
    return Purged(await req.services.remote_media_cache.purge(req.uow, before_ts))
