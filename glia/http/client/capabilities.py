"""``/capabilities``: what this server lets clients do."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.protocol.room_versions import room_versions_capability

routes = RouteGroup()


@routes.get(*client_paths("/capabilities"), auth=Auth.USER)
async def capabilities(req: Request) -> dict[str, Any]:
    caps: dict[str, Any] = {
        "m.change_password": {"enabled": True},
        "m.set_displayname": {"enabled": True},
        "m.set_avatar_url": {"enabled": True},
        "m.3pid_changes": {"enabled": False},
        "m.get_login_token": {"enabled": False},
        "m.room_versions": room_versions_capability(),
    }
    if req.requester.is_admin:
        # The spec's /admin/suspend and /admin/lock endpoints (omitted for non-admins).
        caps["m.account_moderation"] = {"suspend": True, "lock": True}
    return {"capabilities": caps}
