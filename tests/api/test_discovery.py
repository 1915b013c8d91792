"""Discovery: /versions, .well-known, capabilities, CORS, OPTIONS, 404/405."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.kit import Kit, assert_error
from tests.server import GliaProcess


def assert_cors(response: httpx.Response) -> None:
    headers = response.headers
    assert headers.get("access-control-allow-origin") == "*", dict(headers)
    methods = {m.strip() for m in headers.get("access-control-allow-methods", "").split(",")}
    assert {"GET", "POST", "PUT", "DELETE", "OPTIONS"} <= methods, dict(headers)
    allowed_header = headers.get("access-control-allow-headers", "")
    allowed = {h.strip().lower() for h in allowed_header.split(",")}
    assert {"authorization", "content-type", "x-requested-with"} <= allowed, dict(headers)


def test_versions(kit: Kit) -> None:
    r = kit.http.get("/_matrix/client/versions")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body["versions"], list)
    assert {"r0.6.1", "v1.1", "v1.12"} <= set(body["versions"])
    assert all(isinstance(v, str) for v in body["versions"])
    assert isinstance(body.get("unstable_features", {}), dict)
    assert_cors(r)


def test_versions_needs_no_token_but_accepts_a_bad_one(kit: Kit) -> None:
    # /versions is unauthenticated: a stale token must not break discovery.
    r = kit.request("GET", "/_matrix/client/versions", token="not-a-token")
    assert r.status_code == 200, r.text


def test_well_known_client(kit: Kit, glia: GliaProcess) -> None:
    r = kit.http.get("/.well-known/matrix/client")
    assert r.status_code == 200
    base_url = r.json()["m.homeserver"]["base_url"]
    assert base_url.rstrip("/") == f"http://{glia.server_name}:{glia.port}"
    assert_cors(r)


def test_well_known_server(kit: Kit, glia: GliaProcess) -> None:
    r = kit.http.get("/.well-known/matrix/server")
    assert r.status_code == 200
    assert r.json() == {"m.server": f"{glia.server_name}:{glia.port}"}
    assert_cors(r)


def test_well_known_uses_public_baseurl(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_PUBLIC_BASEURL": "https://matrix.example.org"})
    k = Kit(server.url)
    try:
        client = k.http.get("/.well-known/matrix/client").json()
        assert client == {"m.homeserver": {"base_url": "https://matrix.example.org/"}}
        assert k.http.get("/.well-known/matrix/server").json() == {
            "m.server": "matrix.example.org:443"
        }
    finally:
        k.close()


def test_capabilities(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("GET", "/_matrix/client/v3/capabilities", user.access_token)
    assert r.status_code == 200, r.text
    caps = r.json()["capabilities"]
    assert caps["m.change_password"] == {"enabled": True}
    assert caps["m.set_displayname"] == {"enabled": True}
    assert caps["m.set_avatar_url"] == {"enabled": True}
    assert caps["m.3pid_changes"] == {"enabled": False}
    versions = caps["m.room_versions"]
    assert versions["available"][versions["default"]] == "stable"
    # r0 is served too, for old clients.
    r0 = kit.request("GET", "/_matrix/client/r0/capabilities", user.access_token)
    assert r0.status_code == 200 and r0.json() == r.json()


def test_capabilities_needs_a_token(kit: Kit) -> None:
    assert_error(kit.http.get("/_matrix/client/v3/capabilities"), 401, "M_MISSING_TOKEN")


@pytest.mark.parametrize("path", [
    "/_matrix/client/versions",
    "/_matrix/client/v3/login",
    "/_matrix/client/v3/account/whoami",
    "/_matrix/client/v3/nonexistent/thing",
    "/anything/at/all",
    "/_synapse/admin/v1/register",
])
def test_options_preflight_on_any_path(kit: Kit, path: str) -> None:
    r = kit.http.request("OPTIONS", path, headers={
        "Origin": "https://app.example.org",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert r.status_code == 200, r.text
    assert_cors(r)


def test_cors_on_success(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("GET", "/_matrix/client/v3/account/whoami", user.access_token,
                    headers={"Origin": "https://app.example.org"})
    assert r.status_code == 200
    assert_cors(r)


@pytest.mark.parametrize(("method", "path", "status", "errcode"), [
    ("GET", "/_matrix/client/v3/nonexistent", 404, "M_UNRECOGNIZED"),
    ("DELETE", "/_matrix/client/versions", 405, "M_UNRECOGNIZED"),
    ("GET", "/_matrix/client/v3/account/whoami", 401, "M_MISSING_TOKEN"),
    ("POST", "/_matrix/client/v3/login", 400, "M_NOT_JSON"),
])
def test_cors_on_errors(kit: Kit, method: str, path: str, status: int, errcode: str) -> None:
    r = kit.http.request(method, path, content=b"not json" if method == "POST" else None,
                         headers={"Origin": "https://app.example.org"})
    assert_error(r, status, errcode)
    assert_cors(r)


def test_cors_on_unknown_token(kit: Kit) -> None:
    r = kit.request("GET", "/_matrix/client/v3/account/whoami", token="nope")
    assert_error(r, 401, "M_UNKNOWN_TOKEN")
    assert_cors(r)


@pytest.mark.parametrize("path", [
    "/_matrix/client/v3/nonexistent",
    "/_matrix/client/v3/account/whoami/extra",
    "/_matrix/client/v4/login",
    "/",
    "/_matrix",
    "/_synapse/admin/v1/nonexistent",
])
def test_unknown_path_is_404_unrecognized(kit: Kit, path: str) -> None:
    body = assert_error(kit.http.get(path), 404, "M_UNRECOGNIZED")
    assert body["error"] == "Unrecognized request"


@pytest.mark.parametrize(("method", "path"), [
    ("DELETE", "/_matrix/client/versions"),
    ("POST", "/_matrix/client/versions"),
    ("PUT", "/_matrix/client/v3/login"),
    ("GET", "/_matrix/client/v3/logout"),
    ("POST", "/_matrix/client/v3/account/whoami"),
    ("DELETE", "/.well-known/matrix/client"),
])
def test_known_path_wrong_method_is_405(kit: Kit, method: str, path: str) -> None:
    assert_error(kit.http.request(method, path), 405, "M_UNRECOGNIZED")


def test_head_is_served_where_get_is(kit: Kit) -> None:
    r = kit.http.head("/_matrix/client/versions")
    assert r.status_code == 200


def test_r0_and_v3_prefixes(kit: Kit) -> None:
    for prefix in ("r0", "v3"):
        r = kit.http.get(f"/_matrix/client/{prefix}/login")
        assert r.status_code == 200, (prefix, r.text)
