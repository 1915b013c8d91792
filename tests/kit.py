"""The shared test kit: talk to a running Glia like a client would."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from glia.services.shared_secret_registration import registration_mac
from tests.server import SHARED_SECRET

PASSWORD = "correct horse battery"
T = TypeVar("T")


@dataclass
class User:
    user_id: str
    access_token: str
    device_id: str
    password: str


def unique(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class Kit:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self._clock_admin: User | None = None

    def request(self, method: str, path: str, token: str | None = None,
                json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, path, json=json, headers=headers, **kwargs)

    def register_user(self, localpart: str | None = None, password: str = PASSWORD,
                      admin: bool = False, user_type: str | None = None) -> User:
        """Create a user through shared-secret registration (works with any config)."""
        localpart = localpart or unique()
        nonce = self.http.get("/_synapse/admin/v1/register").json()["nonce"]
        body: dict[str, Any] = {
            "nonce": nonce, "username": localpart, "password": password, "admin": admin,
            "mac": registration_mac(SHARED_SECRET, nonce, localpart, password, admin, user_type),
        }
        if user_type:
            body["user_type"] = user_type
        r = self.http.post("/_synapse/admin/v1/register", json=body)
        assert r.status_code == 200, r.text
        data = r.json()
        return User(data["user_id"], data["access_token"], data["device_id"], password)

    def make_admin(self, localpart: str | None = None) -> User:
        return self.register_user(localpart, admin=True)

    def server_now(self) -> int:
        """The server's time in ms: what to compute expiry times from on a server whose
        clock a test moved forward."""
        return self.advance_clock(0)

    def advance_clock(self, ms: int) -> int:
        """Move the server's clock ``ms`` forward instead of sleeping (test servers run
        with ``testing.clock_control``); returns the server's time after the move."""
        if self._clock_admin is None:
            self._clock_admin = self.make_admin()
        r = self.request("POST", "/_glia/admin/v1/testing/clock",
                         self._clock_admin.access_token, json={"advance_ms": ms})
        assert r.status_code == 200, r.text
        return int(r.json()["now_ms"])

    def login(self, user_id: str, password: str = PASSWORD, device_id: str | None = None) -> User:
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": password,
        }
        if device_id:
            body["device_id"] = device_id
        r = self.http.post("/_matrix/client/v3/login", json=body)
        assert r.status_code == 200, r.text
        data = r.json()
        return User(data["user_id"], data["access_token"], data["device_id"], password)

    def close(self) -> None:
        self.http.close()


def assert_error(response: httpx.Response, status: int, errcode: str) -> dict[str, Any]:
    """The response is a Matrix error with this status and errcode."""
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body.get("errcode") == errcode, body
    assert isinstance(body.get("error"), str)
    return body


def create_room(kit: Kit, user: User, **body: Any) -> str:
    r = kit.request("POST", "/_matrix/client/v3/createRoom", user.access_token, json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["room_id"])


def send_event(kit: Kit, user: User, room_id: str, content: Any = None,
               event_type: str = "m.room.message", txn_id: str | None = None) -> str:
    content = content if content is not None else {"msgtype": "m.text", "body": "hello"}
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room_id}/send/{event_type}/"
                    f"{txn_id or unique('txn')}", user.access_token, json=content)
    assert r.status_code == 200, r.text
    return str(r.json()["event_id"])


def wait_until(condition: Callable[[], T | None], timeout: float = 30,
               interval: float = 0.02, what: str = "condition") -> T:
    """For something that happens asynchronously (a job finishing, a push gateway
    receiving a POST): the first true value of ``condition()``, checked every
    ``interval`` seconds; fails after ``timeout``. Never for time to pass: move the
    server's clock with :meth:`Kit.advance_clock` instead."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def wait_for_job(kit: Kit, admin: User, job_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll ``/_glia/admin/v1/jobs/{id}`` until the job finished; returns it."""

    def finished() -> dict[str, Any] | None:
        r = kit.request("GET", f"/_glia/admin/v1/jobs/{job_id}", admin.access_token)
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()
        return job if job["status"] in ("complete", "failed", "cancelled") else None

    return wait_until(finished, timeout, what=f"job {job_id}")
