"""A small identity server (Identity Service API v2) on loopback, implementing what a
homeserver calls: ``hash_details`` and ``lookup``, ``store-invite``, ``3pid/bind`` and
``3pid/unbind``. It records every request so tests can check what Glia sent."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import ThreadingHTTPServer
from typing import Any

from tests.json_handler import JsonHandler

PEPPER = "matrixrocks"
ACCESS_TOKEN = "is-token"
PUBLIC_KEY = "2tXlR3Gmw1E4Hn0DQXpZx0Ev1z46Bw0bMGvI8vk8q1c"


def hashed(medium: str, address: str) -> str:
    digest = hashlib.sha256(f"{address} {medium} {PEPPER}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class IdentityServer:
    def __init__(self) -> None:
        #: (medium, address) → Matrix ID, what lookups find.
        self.bindings: dict[tuple[str, str], str] = {}
        #: Validation sessions it "validated": sid → (client_secret, medium, address).
        self.sessions: dict[str, tuple[str, str, str]] = {}
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.unbind_status = 200
        server = self

        class Handler(JsonHandler):
            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append((method, self.path, headers, body))
                status, answer = server.answer(method, self.path, headers, body)
                self.answer(status, answer)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.name = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, method: str, path: str, headers: dict[str, str], body: Any
               ) -> tuple[int, Any]:
        forbidden = (401, {"errcode": "M_UNAUTHORIZED", "error": "bad token"})
        user_call = headers.get("authorization") == f"Bearer {ACCESS_TOKEN}"
        if method == "GET" and path == "/_matrix/identity/v2/hash_details":
            return (200, {"lookup_pepper": PEPPER, "algorithms": ["none", "sha256"]}) \
                if user_call else forbidden
        if method == "POST" and path == "/_matrix/identity/v2/lookup":
            if not user_call:
                return forbidden
            assert body["algorithm"] == "sha256" and body["pepper"] == PEPPER
            known = {hashed(m, a): mxid for (m, a), mxid in self.bindings.items()}
            return 200, {"mappings": {h: known[h] for h in body["addresses"] if h in known}}
        if method == "POST" and path == "/_matrix/identity/v2/store-invite":
            if not user_call:
                return forbidden
            return 200, {"token": f"invite-{len(self.requests)}", "display_name": "a...@e...",
                         "public_keys": [{"public_key": PUBLIC_KEY, "key_validity_url":
                                          f"https://{self.name}/_matrix/identity/v2/pubkey/"
                                          "isvalid"}]}
        if method == "POST" and path == "/_matrix/identity/v2/3pid/bind":
            if not user_call:
                return forbidden
            session = self.sessions.get(body["sid"])
            if session is None or session[0] != body["client_secret"]:
                return 400, {"errcode": "M_NO_VALID_SESSION", "error": "no session"}
            _, medium, address = session
            self.bindings[(medium, address)] = body["mxid"]
            return 200, {"medium": medium, "address": address, "mxid": body["mxid"],
                         "not_before": 0, "not_after": 2**40, "ts": 0, "signatures": {}}
        if method == "POST" and path == "/_matrix/identity/v2/3pid/unbind":
            if self.unbind_status != 200:
                return self.unbind_status, {"errcode": "M_UNRECOGNIZED", "error": "no"}
            threepid = body["threepid"]
            self.bindings.pop((threepid["medium"], threepid["address"]), None)
            return 200, {}
        return 404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}
