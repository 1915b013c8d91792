"""Bad input on every POST/PUT endpoint: the documented status and errcode, never a 500.

Also rate limiting (429 ``M_LIMIT_EXCEEDED`` with ``retry_after_ms``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.kit import PASSWORD, Kit, User, assert_error, unique
from tests.server import GliaProcess

MAX_REQUEST_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {user_id} and {device_id} are the caller's
    authed: bool
    empty_body_ok: bool = False  # the body is optional (empty = {})

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("POST", "/_matrix/client/v3/register", False),
    Endpoint("POST", "/_matrix/client/r0/register", False),
    Endpoint("POST", "/_matrix/client/v3/login", False),
    Endpoint("POST", "/_matrix/client/v3/account/password", True),
    Endpoint("POST", "/_matrix/client/v3/account/deactivate", True, empty_body_ok=True),
    Endpoint("PUT", "/_matrix/client/v3/devices/{device_id}", True),
    Endpoint("DELETE", "/_matrix/client/v3/devices/{device_id}", True, empty_body_ok=True),
    Endpoint("POST", "/_matrix/client/v3/delete_devices", True),
    Endpoint("PUT", "/_matrix/client/v3/profile/{user_id}/displayname", True),
    Endpoint("PUT", "/_matrix/client/v3/profile/{user_id}/avatar_url", True),
    Endpoint("POST", "/_synapse/admin/v1/register", False),
]
IDS = [str(e) for e in ENDPOINTS]


@pytest.fixture(scope="module")
def caller(kit: Kit) -> User:
    """One user whose token the authenticated endpoints get; bad input changes nothing."""
    return kit.register_user()


def send(kit: Kit, endpoint: Endpoint, user: User, **kwargs: Any) -> httpx.Response:
    path = endpoint.path.format(user_id=user.user_id, device_id=user.device_id)
    token = user.access_token if endpoint.authed else None
    return kit.request(endpoint.method, path, token, **kwargs)


def assert_not_500(r: httpx.Response) -> None:
    assert r.status_code < 500, r.text


@pytest.fixture(autouse=True)
def caller_still_works(kit: Kit, caller: User) -> Iterator[None]:
    yield
    r = kit.request("GET", "/_matrix/client/v3/account/whoami", caller.access_token)
    assert r.status_code == 200, "bad input must not have changed the caller's account"


# -- not JSON / not an object --------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
@pytest.mark.parametrize("content", [
    b"not json", b"{", b'{"a": 1', b"{'single': 'quotes'}", b"\xff\xfe\x00", b"NaN",
    b'{"a": 1} trailing', b"",
], ids=["text", "open-brace", "truncated", "single-quotes", "binary", "nan", "trailing",
        "empty"])
def test_not_json(kit: Kit, caller: User, endpoint: Endpoint, content: bytes) -> None:
    if content == b"" and endpoint.empty_body_ok:
        pytest.skip("an empty body is allowed here")
    r = send(kit, endpoint, caller, content=content,
             headers={"Content-Type": "application/json"})
    assert_error(r, 400, "M_NOT_JSON")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
@pytest.mark.parametrize("value", [b"[]", b'[{"a": 1}]', b'"a string"', b"42", b"null", b"true"],
                         ids=["empty-array", "array", "string", "number", "null", "bool"])
def test_json_but_not_an_object(kit: Kit, caller: User, endpoint: Endpoint,
                                value: bytes) -> None:
    r = send(kit, endpoint, caller, content=value,
             headers={"Content-Type": "application/json"})
    assert_error(r, 400, "M_BAD_JSON")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_deeply_nested_json(kit: Kit, caller: User, endpoint: Endpoint) -> None:
    depth = 100_000
    r = send(kit, endpoint, caller, content=b'{"a":' + b"[" * depth + b"]" * depth + b"}",
             headers={"Content-Type": "application/json"})
    assert_error(r, 400, "M_BAD_JSON")


# -- oversized bodies ---------------------------------------------------------------------


def oversized_body() -> bytes:
    filler = "x" * (MAX_REQUEST_SIZE + 1)
    return b'{"filler": "' + filler.encode() + b'"}'


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_oversized_body(kit: Kit, caller: User, endpoint: Endpoint) -> None:
    r = send(kit, endpoint, caller, content=oversized_body(),
             headers={"Content-Type": "application/json"})
    assert_error(r, 413, "M_TOO_LARGE")


@pytest.mark.parametrize("endpoint", ENDPOINTS[:3], ids=IDS[:3])
def test_oversized_chunked_body(kit: Kit, caller: User, endpoint: Endpoint) -> None:
    """No Content-Length: the limit is enforced while reading."""
    body = oversized_body()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 64 * 1024):
            yield body[i:i + 64 * 1024]

    r = send(kit, endpoint, caller, content=chunks(),
             headers={"Content-Type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_error(r, 413, "M_TOO_LARGE")


def test_body_just_under_the_limit_is_read(kit: Kit, caller: User) -> None:
    body = b'{"type": "m.login.password", "password": "x", "user": "nobody", "pad": "'
    body += b"x" * (MAX_REQUEST_SIZE - len(body) - 2) + b'"}'
    assert len(body) == MAX_REQUEST_SIZE
    r = kit.http.post("/_matrix/client/v3/login", content=body)
    assert_error(r, 403, "M_FORBIDDEN")


# -- wrong field types ----------------------------------------------------------------------

WRONG_TYPES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/_matrix/client/v3/register", {"username": 5, "password": PASSWORD}),
    ("POST", "/_matrix/client/v3/register", {"username": ["a"], "password": PASSWORD}),
    ("POST", "/_matrix/client/v3/register", {"password": 5}),
    ("POST", "/_matrix/client/v3/register", {"password": PASSWORD, "inhibit_login": "yes"}),
    ("POST", "/_matrix/client/v3/register", {"password": PASSWORD, "device_id": 5}),
    ("POST", "/_matrix/client/v3/register",
     {"password": PASSWORD, "initial_device_display_name": {}}),
    ("POST", "/_matrix/client/v3/register", {"password": PASSWORD, "auth": "dummy"}),
    ("POST", "/_matrix/client/v3/register",
     {"password": PASSWORD, "auth": {"type": "m.login.dummy", "session": 5}}),
    ("POST", "/_matrix/client/v3/login", {"type": 5}),
    ("POST", "/_matrix/client/v3/login", {"type": "m.login.password", "identifier": "alice",
                                          "password": PASSWORD}),
    ("POST", "/_matrix/client/v3/login",
     {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": 5},
      "password": PASSWORD}),
    ("POST", "/_matrix/client/v3/login",
     {"type": "m.login.password", "user": ["alice"], "password": PASSWORD}),
    ("POST", "/_matrix/client/v3/login",
     {"type": "m.login.password", "user": "{localpart}", "password": 12345}),
    ("POST", "/_matrix/client/v3/login",
     {"type": "m.login.password", "user": "{localpart}", "password": PASSWORD,
      "device_id": 5}),
    ("POST", "/_matrix/client/v3/login",
     {"type": "m.login.password", "user": "{localpart}", "password": PASSWORD,
      "initial_device_display_name": 5}),
    ("POST", "/_matrix/client/v3/account/password", {"new_password": 5}),
    ("POST", "/_matrix/client/v3/account/password",
     {"new_password": "x", "logout_devices": "yes"}),
    ("POST", "/_matrix/client/v3/account/password", {"new_password": "x", "auth": "x"}),
    ("POST", "/_matrix/client/v3/account/password",
     {"new_password": "x", "auth": {"type": "m.login.password", "password": 5,
                                    "user": "{user_id}"}}),
    ("POST", "/_matrix/client/v3/account/password",
     {"new_password": "x", "auth": {"type": "m.login.password", "password": PASSWORD,
                                    "identifier": "nope"}}),
    ("POST", "/_matrix/client/v3/account/deactivate", {"erase": "yes"}),
    ("POST", "/_matrix/client/v3/account/deactivate", {"auth": ["x"]}),
    ("PUT", "/_matrix/client/v3/devices/{device_id}", {"display_name": 5}),
    ("POST", "/_matrix/client/v3/delete_devices", {"devices": "ABC"}),
    ("POST", "/_matrix/client/v3/delete_devices", {"devices": [1, 2]}),
    ("PUT", "/_matrix/client/v3/profile/{user_id}/displayname", {"displayname": 5}),
    ("PUT", "/_matrix/client/v3/profile/{user_id}/displayname", {"displayname": ["x"]}),
    ("PUT", "/_matrix/client/v3/profile/{user_id}/avatar_url", {"avatar_url": 5}),
    ("POST", "/_synapse/admin/v1/register", {"nonce": 5}),
]


def _fill(value: Any, user: User) -> Any:
    if isinstance(value, str):
        return value.format(user_id=user.user_id, device_id=user.device_id,
                            localpart=user.user_id[1:].split(":")[0])
    if isinstance(value, dict):
        return {k: _fill(v, user) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body"), WRONG_TYPES,
                         ids=[f"{m} {p} {sorted(b)}" for m, p, b in WRONG_TYPES])
def test_wrong_field_type(kit: Kit, caller: User, method: str, path: str,
                          body: dict[str, Any]) -> None:
    authed = not path.startswith(("/_matrix/client/v3/register", "/_matrix/client/v3/login",
                                  "/_synapse"))
    r = kit.request(method, _fill(path, caller), caller.access_token if authed else None,
                    json=_fill(body, caller))
    assert_error(r, 400, "M_BAD_JSON")


# -- missing required fields ---------------------------------------------------------------

MISSING: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/_matrix/client/v3/register",
     {"username": "{fresh}", "auth": {"type": "m.login.dummy"}}, "M_MISSING_PARAM"),
    ("POST", "/_matrix/client/v3/login", {"user": "{localpart}", "password": PASSWORD},
     "M_MISSING_PARAM"),
    ("POST", "/_matrix/client/v3/login", {"type": "m.login.password", "password": PASSWORD},
     "M_MISSING_PARAM"),
    ("POST", "/_matrix/client/v3/login",
     {"type": "m.login.password", "identifier": {"type": "m.id.user"}, "password": PASSWORD},
     "M_MISSING_PARAM"),
    ("POST", "/_matrix/client/v3/login", {"type": "m.login.password", "user": "{localpart}"},
     "M_MISSING_PARAM"),
    ("POST", "/_matrix/client/v3/account/password", {"logout_devices": False},
     "M_MISSING_PARAM"),
    ("POST", "/_matrix/client/v3/delete_devices", {}, "M_MISSING_PARAM"),
    ("PUT", "/_matrix/client/v3/profile/{user_id}/displayname", {}, "M_MISSING_PARAM"),
    ("PUT", "/_matrix/client/v3/profile/{user_id}/avatar_url", {}, "M_MISSING_PARAM"),
    # Synapse's documented code for shared-secret registration is M_BAD_JSON.
    ("POST", "/_synapse/admin/v1/register", {}, "M_BAD_JSON"),
]


@pytest.mark.parametrize(("method", "path", "body", "errcode"), MISSING,
                         ids=[f"{m} {p} {sorted(b)}" for m, p, b, _ in MISSING])
def test_missing_required_field(kit: Kit, caller: User, method: str, path: str,
                                body: dict[str, Any], errcode: str) -> None:
    authed = not path.startswith(("/_matrix/client/v3/register", "/_matrix/client/v3/login",
                                  "/_synapse"))
    if body.get("username") == "{fresh}":
        body = {**body, "username": unique("miss")}
    filled = _fill(body, caller)
    r = kit.request(method, _fill(path, caller), caller.access_token if authed else None,
                    json=filled)
    assert_error(r, 400, errcode)


def test_logout_ignores_its_body(kit: Kit) -> None:
    """/logout and /logout/all take no body: whatever is sent, they log out."""
    user = kit.register_user()
    for path in ("/_matrix/client/v3/logout", "/_matrix/client/v3/logout/all"):
        session = kit.login(user.user_id)
        r = kit.request("POST", path, session.access_token, content=b"not json")
        assert r.status_code == 200, r.text


def test_bad_query_parameters(kit: Kit) -> None:
    r = kit.http.get("/_matrix/client/v3/register/available", params={"username": ""})
    assert_error(r, 400, "M_MISSING_PARAM")
    r = kit.http.get("/_matrix/client/v3/register/available", params={"username": "\x00"})
    assert_error(r, 400, "M_INVALID_USERNAME")


def test_percent_encoding_garbage_in_path(kit: Kit, caller: User) -> None:
    for path in ("/_matrix/client/v3/profile/%ff%fe/displayname",
                 "/_matrix/client/v3/profile/%/displayname",
                 "/_matrix/client/v3/devices/%00"):
        r = kit.request("GET", path, caller.access_token)
        assert_not_500(r)
        assert r.status_code in (400, 404), (path, r.text)


# -- rate limiting ---------------------------------------------------------------------------


def test_rate_limited_logins(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_RATELIMIT__ENABLED": "true"})
    k = Kit(server.url)
    try:
        user = k.register_user()
        body = {"type": "m.login.password", "password": "wrong",
                "identifier": {"type": "m.id.user", "user": user.user_id}}
        statuses = []
        limited: httpx.Response | None = None
        for _ in range(10):
            r = k.http.post("/_matrix/client/v3/login", json=body)
            statuses.append(r.status_code)
            if r.status_code == 429:
                limited = r
                break
        assert limited is not None, statuses
        assert statuses[0] == 403
        err = assert_error(limited, 429, "M_LIMIT_EXCEEDED")
        retry = err["retry_after_ms"]
        assert isinstance(retry, int) and not isinstance(retry, bool)
        assert 0 < retry <= 60_000
        assert limited.headers["access-control-allow-origin"] == "*"
        # Even a correct password is refused while limited; other endpoints are not.
        good = {**body, "password": PASSWORD}
        assert_error(k.http.post("/_matrix/client/v3/login", json=good), 429,
                     "M_LIMIT_EXCEEDED")
        assert k.request("GET", "/_matrix/client/v3/account/whoami",
                         user.access_token).status_code == 200
    finally:
        k.close()


def test_rate_limited_registration(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_RATELIMIT__ENABLED": "true",
                           "GLIA_RATELIMIT__REGISTER__BURST": "2",
                           "GLIA_RATELIMIT__REGISTER__PER_SECOND": "0.01"})
    with httpx.Client(base_url=server.url) as http:
        statuses = [http.post("/_matrix/client/v3/register",
                              json={"username": unique("rl"), "password": PASSWORD}).status_code
                    for _ in range(3)]
        assert statuses == [401, 401, 429], statuses


def test_rate_limit_disabled(kit: Kit) -> None:
    """The shared test server runs with rate limiting off: many logins all answer."""
    body = {"type": "m.login.password", "password": "wrong",
            "identifier": {"type": "m.id.user", "user": "@nobody:localhost"}}
    statuses = {kit.http.post("/_matrix/client/v3/login", json=body).status_code
                for _ in range(10)}
    assert statuses == {403}


NUL_BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/_matrix/client/v3/login",
     {"type": "m.login.password", "user": "nul\u0000user", "password": PASSWORD}),
    ("POST", "/_matrix/client/v3/login",
     {"type": "m.login.password", "user": "{localpart}", "password": PASSWORD,
      "device_id": "DEV\u0000"}),
    ("POST", "/_matrix/client/v3/login",
     {"type": "m.login.password", "user": "{localpart}", "password": "nul\u0000"}),
    ("POST", "/_matrix/client/v3/register",
     {"username": "nul\u0000", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}),
    ("POST", "/_matrix/client/v3/register",
     {"password": PASSWORD, "auth": {"type": "m.login.dummy", "session": "s\u0000"}}),
    ("POST", "/_matrix/client/v3/account/password",
     {"new_password": "x", "auth": {"type": "m.login.password", "password": PASSWORD,
                                    "user": "{user_id}", "session": "\u0000"}}),
    ("PUT", "/_matrix/client/v3/devices/{device_id}", {"display_name": "a\u0000b"}),
    ("PUT", "/_matrix/client/v3/profile/{user_id}/displayname", {"displayname": "a\u0000b"}),
    ("PUT", "/_matrix/client/v3/profile/{user_id}/avatar_url", {"avatar_url": "mxc://a/\u0000"}),
    ("POST", "/_matrix/client/v3/delete_devices", {"devices": ["\u0000"]}),
]


@pytest.mark.parametrize(("method", "path", "body"), NUL_BODIES,
                         ids=[f"{m} {p} {i}" for i, (m, p, _) in enumerate(NUL_BODIES)])
def test_nul_characters_in_strings(kit: Kit, caller: User, method: str, path: str,
                                   body: dict[str, Any]) -> None:
    """PostgreSQL cannot store U+0000: on both engines such text is a 4xx, never a 500."""
    authed = not path.startswith(("/_matrix/client/v3/register", "/_matrix/client/v3/login"))
    r = kit.request(method, _fill(path, caller), caller.access_token if authed else None,
                    json=_fill(body, caller))
    assert_not_500(r)
    assert r.status_code in (400, 401, 403), r.text
    assert r.status_code != 200
