"""The HTTP core in-process: routing, the central error handler, auth levels, CORS."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from glia import errors
from glia.clock import SystemClock
from glia.config import Config
from glia.http.parsing import Request
from glia.http.routes import Auth, Route, RouteGroup, Router
from glia.http.server import HttpApp

routes = RouteGroup()


@routes.get("/ok", auth=Auth.NONE)
async def ok(req: Request) -> dict[str, Any]:
    return {"ok": True}


@routes.get("/boom", auth=Auth.NONE)
async def boom(req: Request) -> dict[str, Any]:
    raise RuntimeError("secret internals")


@routes.get("/teapot", auth=Auth.NONE)
async def teapot(req: Request) -> tuple[int, dict[str, Any]]:
    return 418, {"short": "stout"}


@routes.get("/matrix-error", auth=Auth.NONE)
async def matrix_error(req: Request) -> dict[str, Any]:
    raise errors.MatrixError(409, "M_CONFLICT", "nope", extra_field=1)


@routes.get("/items/{itemId}", auth=Auth.NONE)
async def item(req: Request) -> dict[str, Any]:
    return {"item": req.path("itemId")}


@routes.get("/private", auth=Auth.USER)
async def private(req: Request) -> dict[str, Any]:
    return {"user": req.requester.user_id}


@routes.get("/admin-only", auth=Auth.ADMIN)
async def admin_only(req: Request) -> dict[str, Any]:
    return {}


@routes.get("/bridges-only", auth=Auth.APPSERVICE)
async def bridges_only(req: Request) -> dict[str, Any]:
    return {"user": req.requester.user_id}


class FakeAuth:
    async def authenticate(self, token: str, ip: str | None = None,
                           user_agent: str | None = None, allow_expired: bool = False,
                           *, as_user_id: str | None = None,
                           as_device_id: str | None = None) -> Any:
        if token == "user-token":
            return SimpleNamespace(user_id="@u:test", is_admin=False, app_service=None,
                                   is_guest=False)
        if token == "admin-token":
            return SimpleNamespace(user_id="@a:test", is_admin=True, app_service=None,
                                   is_guest=False)
        if token == "as-token":
            return SimpleNamespace(user_id=as_user_id or "@bot:test", is_admin=False,
                                   app_service="bridge", is_guest=False)
        raise errors.unknown_token()


def client() -> httpx.AsyncClient:
    services = SimpleNamespace(config=Config(), auth=FakeAuth(), clock=SystemClock(),
                               shared_buckets=None)
    app = HttpApp(services, routes.routes, "t")  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_success_and_status_tuple() -> None:
    async with client() as c:
        r = await c.get("/ok")
        assert r.status_code == 200 and r.json() == {"ok": True}
        assert r.headers["access-control-allow-origin"] == "*"
        r = await c.get("/teapot")
        assert r.status_code == 418 and r.json() == {"short": "stout"}


async def test_unexpected_exception_is_500_m_unknown(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="glia.http"):
        async with client() as c:
            r = await c.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"errcode": "M_UNKNOWN", "error": "Internal server error"}
    assert "secret internals" not in r.text
    assert r.headers["access-control-allow-origin"] == "*"
    record = next(rec for rec in caplog.records if rec.name == "glia.http")
    assert "t-" in record.getMessage() and "/boom" in record.getMessage()
    assert record.exc_info is not None


async def test_matrix_error_extra_fields() -> None:
    async with client() as c:
        r = await c.get("/matrix-error")
    assert r.status_code == 409
    assert r.json() == {"errcode": "M_CONFLICT", "error": "nope", "extra_field": 1}


async def test_path_parameters_are_decoded_once() -> None:
    async with client() as c:
        r = await c.get("/items/a%2Fb%2520c")
    assert r.json() == {"item": "a/b%20c"}


async def test_auth_levels_are_enforced_centrally() -> None:
    async with client() as c:
        assert (await c.get("/private")).json()["errcode"] == "M_MISSING_TOKEN"
        r = await c.get("/private", headers={"Authorization": "Bearer bad"})
        assert r.status_code == 401 and r.json()["errcode"] == "M_UNKNOWN_TOKEN"
        r = await c.get("/private", headers={"Authorization": "Bearer user-token"})
        assert r.json() == {"user": "@u:test"}
        r = await c.get("/admin-only", headers={"Authorization": "Bearer user-token"})
        assert r.status_code == 403 and r.json()["errcode"] == "M_FORBIDDEN"
        r = await c.get("/admin-only", params={"access_token": "admin-token"})
        assert r.status_code == 200
        # Application-service routes: only an as_token, acting as whom user_id names.
        r = await c.get("/bridges-only", headers={"Authorization": "Bearer user-token"})
        assert r.status_code == 403 and r.json()["errcode"] == "M_FORBIDDEN"
        r = await c.get("/bridges-only", params={"access_token": "as-token",
                                                 "user_id": "@_b_x:test"})
        assert r.json() == {"user": "@_b_x:test"}


async def test_unknown_and_wrong_method() -> None:
    async with client() as c:
        r = await c.get("/nope")
        assert r.status_code == 404 and r.json()["errcode"] == "M_UNRECOGNIZED"
        r = await c.post("/ok")
        assert r.status_code == 405 and r.json()["errcode"] == "M_UNRECOGNIZED"
        r = await c.options("/nope")
        assert r.status_code == 200
        assert "OPTIONS" in r.headers["access-control-allow-methods"]


def test_a_route_needs_an_auth_level() -> None:
    group = RouteGroup()
    with pytest.raises(TypeError):
        group.get("/x")  # type: ignore[call-arg]


def test_duplicate_routes_are_refused() -> None:
    async def h(req: Request) -> None:
        return None

    with pytest.raises(ValueError, match="duplicate"):
        Router([Route("GET", "/a/{x}", h, Auth.NONE, None),
                Route("GET", "/a/{x}", h, Auth.NONE, None)])
    # The same shape with other parameter names would shadow, or break the handler.
    for method in ("GET", "PUT"):
        with pytest.raises(ValueError, match="parameter names"):
            Router([Route("GET", "/a/{x}", h, Auth.NONE, None),
                    Route(method, "/a/{y}", h, Auth.NONE, None)])
    router = Router([Route("GET", "/a/{x}", h, Auth.NONE, None),
                     Route("PUT", "/a/{x}", h, Auth.NONE, None)])
    matched = router.match(["a", "1"])
    assert matched is not None and set(matched[0]) == {"GET", "HEAD", "PUT"}


def test_static_routes_win_over_dynamic() -> None:
    async def h(req: Request) -> None:
        return None

    static = Route("GET", "/profile/me", h, Auth.NONE, None)
    dynamic = Route("GET", "/profile/{userId}", h, Auth.NONE, None)
    router = Router([dynamic, static])
    matched = router.match(["profile", "me"])
    assert matched is not None and matched[0]["GET"] is static
    matched = router.match(["profile", "@a:b"])
    assert matched is not None and matched[1] == {"userId": "@a:b"}
    assert router.match(["profile", ""]) is None


def test_logged_paths_cannot_forge_log_lines() -> None:
    from glia.http.server import _loggable_path

    assert _loggable_path({"raw_path": b"/a%0Ab", "path": "/a\nb"}) == "/a%0Ab"
    assert "\n" not in _loggable_path({"path": "/a\nb"})
