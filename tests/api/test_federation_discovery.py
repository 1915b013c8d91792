"""The outbound client against an in-test HTTPS server on loopback: ``.well-known``
delegation (cached, redirects, errors), SRV through an injected resolver, and the
``Host`` header, TLS name and signature the spec asks for; the IP policy refusing
private addresses. Every name resolves through the test's resolver: no real DNS."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme

from glia.config_federation import FederationConfig
from glia.protocol.federation_auth import parse_x_matrix, verify_request
from glia.protocol.server_discovery import SrvRecord
from glia.protocol.signing import generate_signing_key, verify_key_of
from glia.services.federation.client import FederationClient, FederationError, RemoteError
from glia.services.federation.policy import FederationPolicy
from tests.unit.test_federation_discovery import FakeClock


class Remote:
    """What the in-test server saw and answers, by ``Host`` header."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.port = 0
        self.sni: list[str | None] = []


def _handler(remote: Remote) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None
                  ) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            host = self.headers.get("Host", "")
            remote.seen.append({"host": host, "path": self.path,
                                "authorization": self.headers.get("Authorization")})
            if self.path == "/.well-known/matrix/server":
                if host == "hs.test":
                    self._send(200, b'{"m.server": "box.test"}',
                               {"Cache-Control": "max-age=100"})
                elif host == "moved.test":
                    self._send(302, b"", {"Location":
                                          f"https://hs.test:{remote.port}"
                                          "/.well-known/matrix/server"})
                elif host == "garbage.test":
                    self._send(200, b"<html>not json</html>")
                elif host == "loop.test":
                    self._send(301, b"", {"Location": "/.well-known/matrix/server"})
                else:
                    self._send(404, b'{"errcode": "M_NOT_FOUND"}')
            elif self.path.startswith("/_matrix/federation/v1/version") and host == "box.test":
                self._send(200, json.dumps({"server": {"name": "Fake", "version": "1"}}
                                           ).encode())
            elif self.path.startswith("/_matrix/federation/v1/slow"):
                # A byte every 0.2 s: each read is quick, the whole answer never comes.
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                try:
                    for _ in range(100):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.2)
                except OSError:
                    pass
            elif self.path.startswith("/_matrix/federation/v1/broken"):
                self._send(200, b"\xff not json")
            else:
                self._send(403, b'{"errcode": "M_FORBIDDEN", "error": "no"}')

    return Handler


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Remote, str]]:
    ca = trustme.CA()
    cert = ca.issue_cert("hs.test", "box.test", "moved.test", "garbage.test", "loop.test",
                         "missing.test",
                         "127.0.0.1")
    state = Remote()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)

    def remember_sni(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        state.sni.append(name)

    context.sni_callback = remember_sni  # type: ignore[assignment]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ca_file = str(tmp_path_factory.mktemp("ca") / "ca.pem")
    ca.cert_pem.write_to_path(ca_file)
    yield state, ca_file
    server.shutdown()


class TestResolver:
    __test__ = False

    def __init__(self, port: int) -> None:
        self.port = port

    async def srv(self, name: str) -> list[SrvRecord]:
        if name == "_matrix-fed._tcp.box.test":
            return [SrvRecord(0, 0, "target.test.", self.port)]
        return []

    async def addresses(self, host: str) -> list[str]:
        return ["127.0.0.1"] if host.endswith(".test") or host == "127.0.0.1" else []


KEY = generate_signing_key("k")


def client(remote: tuple[Remote, str], **config: Any) -> FederationClient:
    state, ca = remote
    settings = FederationConfig(custom_ca_list=ca, **config)
    return FederationClient("me.test", KEY, settings,
                            FederationPolicy(settings), TestResolver(state.port),
                            FakeClock(), well_known_port=state.port)


async def test_delegation_srv_host_header_tls_name_and_signature(
        remote: tuple[Remote, str]) -> None:
    state, _ = remote
    c = client(remote, ip_range_whitelist=["127.0.0.0/8"])
    try:
        answer = await c.request("hs.test", "GET", "/_matrix/federation/v1/version",
                                 query={"a": "b c"})
        assert answer.body == {"server": {"name": "Fake", "version": "1"}}
        assert (answer.address, answer.port) == ("127.0.0.1", state.port)
        request = state.seen[-1]
        # SRV of the delegated name: Host and certificate name are the delegated name.
        assert request["host"] == "box.test" and state.sni[-1] == "box.test"
        assert request["path"] == "/_matrix/federation/v1/version?a=b+c"
        auth = parse_x_matrix(request["authorization"])
        assert (auth.origin, auth.destination) == ("me.test", "hs.test")
        verify_request(auth, "GET", request["path"], "hs.test", None, verify_key_of(KEY))
        # .well-known was fetched once, then cached.
        await c.request("hs.test", "GET", "/_matrix/federation/v1/version")
        assert [s["host"] for s in state.seen].count("hs.test") == 1
        resolution = await c.discovery.resolve("hs.test")
        assert resolution.steps[0].cached
        assert resolution.target.rule.startswith("3.3/3.4")
    finally:
        await c.close()


async def test_redirects_errors_and_garbage(remote: tuple[Remote, str]) -> None:
    c = client(remote, ip_range_whitelist=["127.0.0.0/8"])
    try:
        moved = await c.fetch_well_known("moved.test")
        assert moved.answer.server == "box.test"
        for name, error in (("garbage.test", "not a JSON object"),
                            ("missing.test", "HTTP 404"), ("loop.test", "too many redirects"),
                            ("nowhere.example", "no address")):
            result = await c.fetch_well_known(name)
            assert result.answer.server is None and error in (result.answer.error or ""), (
                name, result)
        with pytest.raises(RemoteError) as refused:
            await c.request("box.test", "GET", "/_matrix/federation/v1/other")
        assert (refused.value.status, refused.value.errcode) == (403, "M_FORBIDDEN")
        with pytest.raises(FederationError, match="not JSON"):
            await c.request("box.test", "GET", "/_matrix/federation/v1/broken")
    finally:
        await c.close()


async def test_a_slow_peer_is_cut_off(remote: tuple[Remote, str]) -> None:
    c = client(remote, ip_range_whitelist=["127.0.0.0/8"], request_timeout=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(FederationError, match="no complete answer within 1 s"):
            await c.request("box.test", "GET", "/_matrix/federation/v1/slow")
        assert time.monotonic() - started < 5
    finally:
        await c.close()


async def test_private_addresses_are_refused_by_default(remote: tuple[Remote, str]) -> None:
    state, _ = remote
    before = len(state.seen)
    c = client(remote)
    try:
        with pytest.raises(FederationError, match="ip_range_blacklist"):
            await c.request("127.0.0.1:1", "GET", "/_matrix/federation/v1/version")
        assert (await c.fetch_well_known("hs.test")).answer.server is None
        assert len(state.seen) == before  # nothing was sent
    finally:
        await c.close()


async def test_certificates_are_checked(remote: tuple[Remote, str]) -> None:
    state, _ = remote
    settings = FederationConfig(ip_range_whitelist=["127.0.0.0/8"])  # system CAs only
    c = FederationClient("me.test", generate_signing_key("k"), settings,
                         FederationPolicy(settings), TestResolver(state.port), FakeClock(),
                         well_known_port=state.port)
    try:
        with pytest.raises(FederationError, match="cannot reach"):
            await c.request(f"127.0.0.1:{state.port}", "GET", "/_matrix/federation/v1/version")
    finally:
        await c.close()


async def test_domain_allow_list_refuses_before_any_lookup(remote: tuple[Remote, str]) -> None:
    from glia.errors import MatrixError

    state, _ = remote
    before = len(state.seen)
    c = client(remote, ip_range_whitelist=["127.0.0.0/8"], domain_whitelist=["other.test"])
    try:
        with pytest.raises(MatrixError):
            await c.request("hs.test", "GET", "/_matrix/federation/v1/version")
        assert len(state.seen) == before
    finally:
        await c.close()
