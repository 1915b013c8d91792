"""Application services for tests: registration files, a scriptable fake service (an
HTTP server on loopback that records transactions and answers as told), and a small
bridge built on mautrix-python's appservice framework."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.json_handler import JsonHandler
from tests.pg import free_port


@dataclass
class Registration:
    id: str
    port: int
    as_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    hs_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    prefix: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sender_localpart(self) -> str:
        return f"{self.id}bot"

    def user(self, name: str, server: str = "localhost") -> str:
        return f"@{self.prefix or '_' + self.id + '_'}{name}:{server}"

    def write(self, directory: Path, server: str = "localhost") -> Path:
        prefix = self.prefix or f"_{self.id}_"
        data = {
            "id": self.id, "url": f"http://127.0.0.1:{self.port}",
            "as_token": self.as_token, "hs_token": self.hs_token,
            "sender_localpart": self.sender_localpart,
            "namespaces": {
                "users": [{"exclusive": True, "regex": f"@{prefix}.*:{server}"}],
                "aliases": [{"exclusive": True, "regex": f"#{prefix}.*:{server}"}],
                "rooms": [],
            },
            **self.extra,
        }
        path = directory / f"{self.id}.yaml"
        path.write_text(yaml.safe_dump(data))
        return path


def new_registration(service_id: str, **extra: Any) -> Registration:
    return Registration(service_id, free_port(), extra=extra)


class FakeAppService:
    """Records every request; ``status`` decides the answer to transactions (``None``:
    hang until ``release()``)."""

    def __init__(self, registration: Registration) -> None:
        self.registration = registration
        self.transactions: list[tuple[str, dict[str, Any]]] = []
        self.requests: list[tuple[str, str]] = []
        self.status: int | None = 200
        #: path → (status, JSON), or a function called to answer (a query handler).
        self.answers: dict[str, Any] = {}
        self._release = threading.Event()
        fake = self

        class Handler(JsonHandler):
            def _authorised(self) -> bool:
                return self.headers.get("Authorization") == \
                    f"Bearer {fake.registration.hs_token}"

            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(("PUT", self.path))
                if not self._authorised():
                    self.answer(403, {"errcode": "M_FORBIDDEN"})
                    return
                txn_id = self.path.rsplit("/", 1)[1]
                status = fake.status
                if status is None:
                    fake._release.wait(60)
                    status = 200
                if status == 200:
                    fake.transactions.append((txn_id, body))
                else:
                    fake.transactions.append((f"failed:{txn_id}", body))
                self.answer(status, {} if status == 200 else {"error": "down"})

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path))
                if not self._authorised():
                    self.answer(403, {"errcode": "M_FORBIDDEN"})
                    return
                answer = fake.answers.get(self.path.split("?", 1)[0],
                                          (404, {"errcode": "M_NOT_FOUND"}))
                status, body = answer() if callable(answer) else answer
                self.answer(status, body)

            do_POST = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", registration.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def delivered(self) -> list[dict[str, Any]]:
        """Events of accepted transactions, in order."""
        return [e for txn, body in self.transactions if not txn.startswith("failed:")
                for e in body["events"]]

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


class MautrixBridge:
    """A bridge on mautrix-python's ``AppService``, run on its own event loop thread so
    synchronous tests can drive it. ``received`` holds the Matrix events it was sent."""

    def __init__(self, registration: Registration, homeserver: str) -> None:
        self.registration = registration
        self.homeserver = homeserver
        self.received: list[Any] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.az: Any = None

    def run(self, make: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(timeout)

    def start(self) -> None:
        from mautrix.appservice import AppService

        async def start() -> None:
            reg = self.registration
            self.az = AppService(server=self.homeserver, domain="localhost",
                                 as_token=reg.as_token, hs_token=reg.hs_token,
                                 bot_localpart=reg.sender_localpart, id=reg.id,
                                 loop=self._loop, log=f"bridge.{reg.id}")

            async def on_event(event: Any) -> None:
                self.received.append(event)

            self.az.matrix_event_handler(on_event)
            await self.az.start(host="127.0.0.1", port=reg.port)

        self.run(start)

    def stop(self) -> None:
        if self.az is not None:
            self.run(self.az.stop)
            self.az = None

    def intent(self, name: str) -> Any:
        return self.az.intent.user(self.registration.user(name))

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def texts(self) -> list[str]:
        return [str(e.content.body) for e in self.received
                if str(e.type) == "m.room.message"]
