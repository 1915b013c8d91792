"""A real Synapse that federates with a Glia on loopback, for the Glia ↔ Synapse tests.

Synapse is the one tests/synapse_process.py installs and runs (the compatibility test's
pinned release). Besides its plain-HTTP client listener it gets a TLS federation listener
with a certificate from the test's CA (tests/federation.py ``LoopbackCA``), trusts only
that CA for its own outbound requests, lets loopback through its IP policy and federates
only with the servers named in the test: it never talks to anything but loopback.

Its server name is ``127.0.0.1:<federation port>``, an IP literal (no lookup at all).
The Glia it pairs with must be named ``localhost:<port>`` (a hostname with a port: no
``.well-known``, no SRV, the hosts file resolves it), because Synapse refuses a server
name that is an IP literal in its blocked ranges (loopback is) before its
``ip_range_whitelist`` applies: that only lets through addresses a hostname resolves to.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from glia.protocol.signing import SigningKey, parse_signing_keys
from tests.federation import FederatingServer, LoopbackCA, start_federating
from tests.kit import Kit
from tests.pg import free_port
from tests.server import GliaProcess
from tests.synapse_process import SynapseProcess

#: Synapse's own rate limits cannot be switched off; a bucket no test empties.
_UNLIMITED = {"per_second": 10000, "burst_count": 10000}


@dataclass
class FederatingSynapse:
    process: SynapseProcess
    federation_port: int
    ca_path: str

    @property
    def name(self) -> str:
        return self.process.server_name

    @property
    def url(self) -> str:
        """The client (and admin) API, plain HTTP."""
        return self.process.url

    @property
    def federation_url(self) -> str:
        return f"https://127.0.0.1:{self.federation_port}"

    def federation_get(self, path: str) -> httpx.Response:
        """An unauthenticated request (the key API) to the federation listener."""
        return self._federation("GET", path)

    def federation_post(self, path: str, body: Any) -> httpx.Response:
        return self._federation("POST", path, body)

    def _federation(self, method: str, path: str, body: Any = None) -> httpx.Response:
        with httpx.Client(verify=ssl.create_default_context(cafile=self.ca_path),
                          timeout=30) as http:
            return http.request(method, self.federation_url + path, json=body)

    def signing_key(self) -> SigningKey:
        """Synapse's own signing key, so a test can send requests signed as Synapse."""
        return parse_signing_keys((self.process.data / "signing.key").read_text())[0]

    def stop(self) -> None:
        self.process.stop()


def start_federating_synapse(ca: LoopbackCA, federation_port: int, peers: list[str]
                             ) -> FederatingSynapse:
    """Start Synapse named ``127.0.0.1:<federation_port>``, federating with ``peers``
    (server names) only."""
    name = f"127.0.0.1:{federation_port}"
    listener = {"port": federation_port, "bind_addresses": ["127.0.0.1"], "type": "http",
                "tls": True, "x_forwarded": False,
                "resources": [{"names": ["federation"], "compress": False}]}
    settings = {
        "tls_certificate_path": str(ca.cert_path),
        "tls_private_key_path": str(ca.key_path),
        "federation_verify_certificates": True,
        "federation_custom_ca_list": [str(ca.ca_path)],
        # Synapse refuses private addresses by default, loopback included.
        "ip_range_whitelist": ["127.0.0.0/8", "::1/128"],
        "federation_domain_whitelist": [name, *peers],
        # Off by default in Synapse: the test lists its directory from Glia.
        "allow_public_rooms_over_federation": True,
        # Synapse's default publishes no room to its directory.
        "room_list_publication_rules": [{"action": "allow"}],
        # Synapse answers a repeated /sync from a cache for 2 minutes by default; the
        # tests poll /sync for what the other server sent.
        "caches": {"sync_response_cache_duration": 0},
        "rc_federation": {"window_size": 1000, "sleep_limit": 1000, "sleep_delay": 0,
                          "reject_limit": 1000, "concurrent": 100},
        "rc_login": {"address": _UNLIMITED, "account": _UNLIMITED,
                     "failed_attempts": _UNLIMITED},
        "rc_message": _UNLIMITED,
        "rc_room_creation": _UNLIMITED,
    }
    process = SynapseProcess(name, settings, [listener])
    # Its own base URL is the client listener (the port is chosen by the process).
    process.settings["public_baseurl"] = f"{process.url}/"
    return FederatingSynapse(process.start(), federation_port, str(ca.ca_path))


class Peers:
    """A Glia and a Synapse that federate with each other, with a client on each."""

    def __init__(self, glia: FederatingServer, synapse: FederatingSynapse) -> None:
        self.glia, self.synapse = glia, synapse
        self.kit_g, self.kit_s = Kit(glia.process.url), Kit(synapse.url)
        self.admin_g = self.kit_g.make_admin()
        self.admin_s = self.kit_s.make_admin()

    def close(self) -> None:
        self.kit_g.close()
        self.kit_s.close()


@pytest.fixture(scope="session")
def synapse_peers(new_database_url: Callable[[], str]) -> Iterator[Peers]:
    """One Glia and one Synapse for every Glia ↔ Synapse test module of the run (Synapse
    takes long to start)."""
    ca = LoopbackCA()
    ports = [free_port(), free_port()]
    # Synapse refuses a server name that is an IP literal in its blocked ranges before
    # its ``ip_range_whitelist`` applies (that only lets through the addresses a
    # hostname resolves to): Glia is ``localhost:<port>``, Synapse the IP literal.
    names = [f"localhost:{ports[0]}", f"127.0.0.1:{ports[1]}"]
    started: list[GliaProcess] = []

    def start(env: dict[str, str], server_name: str) -> GliaProcess:
        process = GliaProcess(new_database_url(), env, server_name=server_name)
        started.append(process)
        return process.start()

    synapse: FederatingSynapse | None = None
    try:
        glia = start_federating(start, ca, names, ports, 0)
        synapse = start_federating_synapse(ca, ports[1], [glia.name])
        assert synapse.name == names[1]
        p = Peers(glia, synapse)
        yield p
        p.close()
    finally:
        if synapse is not None:
            synapse.stop()
        for process in started:
            process.stop()
    for process in started:
        assert "Traceback" not in process.log(), process.log()[-5000:]


def ok(r: Any) -> dict[str, Any]:
    """The JSON of a 200 answer; otherwise fails naming the request and the answer."""
    assert r.status_code == 200, (r.request.method, str(r.request.url), r.text)
    body: dict[str, Any] = r.json()
    return body
