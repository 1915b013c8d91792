"""Tiny Matrix client helpers: timed requests, shared-secret registration, login.

One helper registers on both servers because Glia's shared-secret registration is
Synapse's (``/_synapse/admin/v1/register``, HMAC-SHA1 over
``nonce\\0username\\0password\\0admin|notadmin``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

_txn = itertools.count()


class MatrixError(Exception):
    """A non-2xx answer; ``errcode`` is the Matrix error code when the body had one."""

    def __init__(self, method: str, path: str, status: int, errcode: str, error: str) -> None:
        super().__init__(f"{method} {path} → {status} {errcode} {error}".strip())
        self.status = status
        self.errcode = errcode


class Unsupported(MatrixError):
    """The server does not know the endpoint (404/405, ``M_UNRECOGNIZED`` or no JSON)."""


@dataclass
class User:
    user_id: str
    localpart: str
    password: str
    access_token: str
    device_id: str = ""


@dataclass
class Timed:
    """A decoded answer and how long it took, in milliseconds, and its body size."""

    body: Any
    ms: float
    size: int


def q(value: str) -> str:
    """Percent-encode one path segment (room IDs, user IDs, event types)."""
    return quote(value, safe="")


def txn_id() -> str:
    return f"bench{time.monotonic_ns()}.{next(_txn)}"


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (``p`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def is_unsupported(status: int, body: Any) -> bool:
    """True when the answer says "no such endpoint" rather than "bad request"."""
    if status not in (404, 405, 501):
        return False
    return not isinstance(body, dict) or body.get("errcode") in (None, "M_UNRECOGNIZED")


class Client:
    """An httpx async client bound to one server on loopback, raising ``MatrixError``."""

    def __init__(self, base_url: str, max_connections: int = 100) -> None:
        if not base_url.startswith(("http://127.0.0.1:", "http://[::1]:")):
            raise ValueError(f"benchmarks talk to loopback only, not {base_url}")
        self.base_url = base_url
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(120.0),
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            headers={"Accept-Encoding": "identity"},
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, token: str | None = None, *,
                   json: Any = None, params: dict[str, Any] | None = None,
                   timeout: float | None = None) -> Timed:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        start = time.perf_counter()
        r = await self.http.request(method, path, json=json, params=params, headers=headers,
                                    **extra)
        ms = (time.perf_counter() - start) * 1000
        try:
            body = r.json()
        except ValueError:
            body = r.text
        if r.status_code >= 300:
            cls = Unsupported if is_unsupported(r.status_code, body) else MatrixError
            errcode = body.get("errcode", "") if isinstance(body, dict) else ""
            error = body.get("error", "") if isinstance(body, dict) else str(body)[:80]
            raise cls(method, path, r.status_code, errcode, error)
        return Timed(body, ms, len(r.content))

    async def probe(self, method: str, path: str) -> str | None:
        """Ask, without a token, whether ``method path`` exists; the reason if it doesn't.

        A known endpoint answers 401 (or 400/200 for unauthenticated ones) before doing
        anything, so probing never changes the server.
        """
        try:
            r = await self.http.request(method, path, json={} if method != "GET" else None)
        except httpx.HTTPError as e:
            return f"{method} {path}: {type(e).__name__}"
        try:
            body: Any = r.json()
        except ValueError:
            body = None
        if is_unsupported(r.status_code, body):
            errcode = body.get("errcode", "") if isinstance(body, dict) else "(no JSON)"
            return f"{method} {path} → {r.status_code} {errcode}".strip()
        return None

    # -- accounts ----------------------------------------------------------------------

    async def register(self, shared_secret: str, localpart: str, password: str,
                       admin: bool = False) -> tuple[User, float]:
        """Shared-secret admin registration; returns the user and the ms it took."""
        start = time.perf_counter()
        nonce = (await self.call("GET", "/_synapse/admin/v1/register")).body["nonce"]
        mac = hmac.new(shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(),
                                 b"admin" if admin else b"notadmin"]))
        body = (await self.call("POST", "/_synapse/admin/v1/register", json={
            "nonce": nonce, "username": localpart, "password": password, "admin": admin,
            "mac": mac.hexdigest(),
        })).body
        ms = (time.perf_counter() - start) * 1000
        user = User(body["user_id"], localpart, password, body.get("access_token", ""),
                    body.get("device_id", ""))
        if not user.access_token:
            user.access_token, user.device_id = await self.login(localpart, password)
        return user, ms

    async def login(self, localpart: str, password: str) -> tuple[str, str]:
        body = (await self.call("POST", "/_matrix/client/v3/login", json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
        })).body
        return body["access_token"], body.get("device_id", "")

    # -- rooms -------------------------------------------------------------------------

    async def create_room(self, user: User, **content: Any) -> str:
        body = (await self.call("POST", "/_matrix/client/v3/createRoom", user.access_token,
                                json=content)).body
        return str(body["room_id"])

    async def join(self, user: User, room_id: str) -> None:
        await self.call("POST", f"/_matrix/client/v3/join/{q(room_id)}", user.access_token,
                        json={})

    async def send_text(self, user: User, room_id: str, text: str) -> Timed:
        return await self.call(
            "PUT", f"/_matrix/client/v3/rooms/{q(room_id)}/send/m.room.message/{txn_id()}",
            user.access_token, json={"msgtype": "m.text", "body": text},
        )
