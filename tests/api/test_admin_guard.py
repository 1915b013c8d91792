"""Generated over every admin route Glia serves: none answers without a token, and none
answers a non-admin (whois lets users ask about themselves only)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from glia.http import admin_routes
from glia.http.routes import Auth
from tests.kit import Kit, assert_error

GUARDED = sorted({(r.method, r.path) for r in admin_routes()
                  if r.auth in (Auth.ADMIN, Auth.USER)})


def test_every_admin_write_names_an_audit_action() -> None:
    for route in admin_routes():
        if route.auth is Auth.ADMIN and route.method != "GET":
            assert route.audit, route.path


def test_admin_routes_exist() -> None:
    mounts = {path.split("/")[1] for _, path in GUARDED}
    assert {"_synapse", "_glia", "_dendrite"} <= mounts


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_admin_route_refuses_anonymous_and_non_admin(kit: Kit, method: str, path: str) -> None:
    other = "@someone-else:localhost"
    concrete = re.sub(r"\{userId\}", quote(other, safe=""), path)
    concrete = re.sub(r"\{[^}]+\}", "x", concrete)
    body = {} if method in ("POST", "PUT") else None
    assert_error(kit.request(method, concrete, json=body), 401, "M_MISSING_TOKEN")
    assert_error(kit.request(method, concrete, "not-a-token", json=body), 401,
                 "M_UNKNOWN_TOKEN")
    user = kit.register_user()
    assert_error(kit.request(method, concrete, user.access_token, json=body), 403,
                 "M_FORBIDDEN")
