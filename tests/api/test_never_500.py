"""Generated over every route Glia serves: garbage bodies and unknown path parameters
get a Matrix error (or success), never a 500 — as an admin, so admin routes run too."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from glia.http import admin_routes, client_routes, federation_routes
from tests.fuzz import FuzzAdmin, concrete_path, fuzz_server

BODIES = [b"not json", b"[1, 2]", b"{}", b'{"a": {"b": [null, true, 1.5, "x"]}}']
# Federation routes are on the client listener of the fuzz server (no federation
# listener): unsigned, they must refuse, never fail.
ROUTES = sorted({(r.method, r.path) for r in [*client_routes(), *admin_routes(),
                                               *federation_routes()]
                 if r.method in ("POST", "PUT", "DELETE")})


@pytest.fixture(scope="module")
def fuzzed(new_database_url: Callable[[], str]) -> Iterator[FuzzAdmin]:
    with fuzz_server(new_database_url) as admin:
        yield admin


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_no_route_answers_500(fuzzed: FuzzAdmin, method: str, path: str) -> None:
    concrete = concrete_path(path)
    for body in BODIES:
        r = fuzzed.send(method, concrete, body)
        assert r.status_code < 500, (method, concrete, body, r.status_code, r.text)
        if r.status_code >= 400 and r.headers.get("content-type", "").startswith(
                "application/json"):
            error = r.json()
            # A user-interactive-auth challenge is the one error without an errcode.
            assert isinstance(error.get("errcode"), str) or "flows" in error, r.text
