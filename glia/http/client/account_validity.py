"""``/account_validity/renew?token=``: the renewal link an expiring account's owner gets
(opened in a browser, so it answers a small HTML page, as Synapse does)."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from starlette.responses import HTMLResponse, Response

from glia import errors
from glia.errors import MatrixError
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths

routes = RouteGroup()


def _page(status: int, text: str) -> HTMLResponse:
    return HTMLResponse(f"<!DOCTYPE html><html><head><title>Account renewal</title></head>"
                        f"<body><p>{html.escape(text)}</p></body></html>", status)


@routes.get(*client_paths("/account_validity/renew", ("r0", "v3", "unstable")),
            auth=Auth.NONE)
async def renew(req: Request) -> Response:
    token = req.query("token")
    if token is None:
        raise errors.missing_param("Missing string query parameter token")
    try:
        renewal = await req.services.account_validity.renew(token)
    except MatrixError as e:
        if e.status != 404:
            raise
        return _page(404, "Invalid renewal token.")
    until = datetime.fromtimestamp(renewal.expiration_ts / 1000, UTC)
    if not renewal.renewed:
        return _page(200, "Your account has already been renewed; it is valid until "
                          f"{until:%Y-%m-%d %H:%M} UTC.")
    return _page(200, f"Your account has been renewed; it is valid until "
                      f"{until:%Y-%m-%d %H:%M} UTC.")
