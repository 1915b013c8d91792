"""Glia servers that federate with each other on loopback, for the federation tests.

Each server has its own server name, a federation listener with a TLS certificate from
a CA made in the test, and trusts only that CA. Their names are ``127.0.0.1:<port>``
(an IP literal) and ``localhost:<port>`` (a hostname with a port, resolved through the
hosts file), so no lookup ever leaves the machine; the IP policy lets loopback through
and the domain allow-list names just the servers of the test.
"""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import trustme

from glia.protocol.federation_auth import authorization_header
from glia.protocol.signing import SigningKey, parse_signing_keys
from tests.pg import free_port
from tests.server import GliaProcess


@dataclass
class FederatingServer:
    process: GliaProcess
    federation_port: int
    #: The CA the server's certificate comes from (what a test's client trusts).
    ca_path: Path

    @property
    def name(self) -> str:
        return self.process.server_name

    @property
    def federation_url(self) -> str:
        return f"https://127.0.0.1:{self.federation_port}"

    def signing_key(self) -> SigningKey:
        """This server's own signing key, read from its data directory, so a test can
        send requests that are genuinely signed by it (or almost)."""
        return parse_signing_keys((self.process.data_dir / "signing.key").read_text())[0]


class LoopbackCA:
    """A CA made for the test and a certificate it issued for loopback."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="glia-fed-ca-"))
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
        self.ca_path = self.dir / "ca.pem"
        self.cert_path = self.dir / "cert.pem"
        self.key_path = self.dir / "key.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        cert.private_key_pem.write_to_path(str(self.key_path))
        for i, blob in enumerate(cert.cert_chain_pems):
            blob.write_to_path(str(self.cert_path), append=i > 0)


def start_federating(start: Callable[..., GliaProcess], ca: LoopbackCA, names: list[str],
                     ports: list[int], index: int,
                     extra_env: dict[str, str] | None = None) -> FederatingServer:
    """Start the ``index``-th of the servers named ``names`` (federation on ``ports``)."""
    env = {
        "GLIA_FEDERATION__LISTENER__ENABLED": "true",
        "GLIA_FEDERATION__LISTENER__ADDRESS": "127.0.0.1",
        "GLIA_FEDERATION__LISTENER__PORT": str(ports[index]),
        "GLIA_FEDERATION__LISTENER__TLS_CERTIFICATE_PATH": str(ca.cert_path),
        "GLIA_FEDERATION__LISTENER__TLS_PRIVATE_KEY_PATH": str(ca.key_path),
        "GLIA_FEDERATION__CUSTOM_CA_LIST": str(ca.ca_path),
        "GLIA_FEDERATION__IP_RANGE_WHITELIST": "127.0.0.0/8,::1/128",
        "GLIA_FEDERATION__DOMAIN_WHITELIST": ",".join(names),
        "GLIA_FEDERATION__REQUEST_TIMEOUT": "10",
        **(extra_env or {}),
    }
    return FederatingServer(start(env, server_name=names[index]), ports[index], ca.ca_path)


def pair_names() -> tuple[list[str], list[int]]:
    """Names and federation ports of two servers, and two more names on loopback ports
    nothing listens on (allowed destinations that are down)."""
    ports = [free_port() for _ in range(4)]
    return [f"127.0.0.1:{ports[0]}", f"localhost:{ports[1]}",
            *(f"127.0.0.1:{port}" for port in ports[2:])], ports


def signed_request(sender_name: str, key: SigningKey, target: FederatingServer, method: str,
                   path: str, content: Any = None, *, destination: str | None = None,
                   origin: str | None = None, header: str | None = None) -> httpx.Response:
    """Send ``method path`` to ``target``'s federation listener, signed by ``key`` as
    ``sender_name`` (``destination``/``origin`` override what the header claims)."""
    auth = header if header is not None else authorization_header(
        method, path, origin or sender_name, destination or target.name, key, content)
    headers = {"Authorization": auth}
    with httpx.Client(verify=ssl.create_default_context(cafile=target.ca_path),
                      timeout=30) as http:
        if content is not None:
            return http.request(method, target.federation_url + path, json=content,
                                headers=headers)
        return http.request(method, target.federation_url + path, headers=headers)
