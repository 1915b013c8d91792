"""``preview_url``: the authenticated ``/_matrix/client/v1/media/preview_url`` and the
legacy ``/_matrix/media/{r0,v3,v1}/preview_url`` (both need an access token)."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup

routes = RouteGroup()

#: OpenGraph properties (``og:title``, ``og:image`` …, ``matrix:image:size``): their set
#: depends on the page, so the answer is a free-form object.
OpenGraph = dict[str, Any]


@routes.get("/_matrix/client/v1/media/preview_url",
            *(f"/_matrix/media/{v}/preview_url" for v in ("r0", "v3", "v1")),
            auth=Auth.USER, ratelimit="default")
async def preview_url(req: Request) -> OpenGraph:
    url = req.query("url")
    if not url:
        raise errors.missing_param("Missing string query parameter url")
    ts = req.query_int("ts", clamp=False)
    return await req.services.url_previews.preview(req.requester.user_id, url, ts)
