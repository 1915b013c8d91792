"""Generated over every route Glia serves: garbage bodies and unknown path parameters
get a Matrix error (or success), never a 500 — as an admin, so admin routes run too."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest

from glia.http import admin_routes, client_routes
from tests.kit import Kit, User
from tests.server import GliaProcess

FILL = {"userId": "@nobody-fuzz:localhost", "roomId": "!nope-fuzz:localhost",
        "eventId": "$nope-fuzz", "serverName": "localhost"}
BODIES = [b"not json", b"[1, 2]", b"{}", b'{"a": {"b": [null, true, 1.5, "x"]}}']
ROUTES = sorted({(r.method, r.path) for r in [*client_routes(), *admin_routes()]
                 if r.method in ("POST", "PUT", "DELETE")})


@pytest.fixture(scope="module")
def fuzzed(new_database_url: Callable[[], str]) -> Iterator[tuple[Kit, list[User]]]:
    server = GliaProcess(new_database_url()).start()
    kit = Kit(server.url)
    yield kit, [kit.make_admin()]
    kit.close()
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-3000:]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_no_route_answers_500(fuzzed: tuple[Kit, list[User]], method: str, path: str) -> None:
    kit, admins = fuzzed
    concrete = re.sub(r"\{([^}]+)\}",
                      lambda m: quote(FILL.get(m.group(1), "fuzz"), safe=""), path)
    for body in BODIES:
        admin = admins[-1]
        r = kit.request(method, concrete, admin.access_token, content=body,
                        headers={"Content-Type": "application/json"})
        assert r.status_code < 500, (method, concrete, body, r.status_code, r.text)
        if r.status_code >= 400 and r.headers.get("content-type", "").startswith(
                "application/json"):
            error = r.json()
            # A user-interactive-auth challenge is the one error without an errcode.
            assert isinstance(error.get("errcode"), str) or "flows" in error, r.text
        # Some writes end the caller's session (logout, deactivation): carry on as a new
        # admin.
        if kit.request("GET", "/_matrix/client/v3/account/whoami",
                       admin.access_token).status_code != 200:
            admins.append(kit.make_admin())
