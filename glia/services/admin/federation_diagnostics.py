"""Glia's federation diagnostics: how a server name resolves (each step), whether its
keys can be fetched and verified, and which software it runs. They answer what went
wrong as data (200 with ``error``) rather than failing, since finding out is the point.
"""

from __future__ import annotations

from typing import Any

import msgspec

from glia import errors
from glia.errors import MatrixError
from glia.ids import is_valid_server_name
from glia.services.federation.client import FederationClient, FederationError
from glia.services.federation.discovery import Resolution
from glia.services.federation.keys import KeyUnavailable, ServerKeysService
from glia.services.federation.policy import FederationPolicy


class DiscoveryStep(msgspec.Struct, frozen=True):
    lookup: str
    name: str
    result: str
    cached: bool


class ResolvedTarget(msgspec.Struct, frozen=True):
    host: str
    port: int
    host_header: str
    tls_name: str
    rule: str


class Address(msgspec.Struct, frozen=True):
    address: str
    allowed: bool


class ResolveReport(msgspec.Struct):
    server_name: str
    allowed_by_domain_whitelist: bool
    steps: list[DiscoveryStep] = msgspec.field(default_factory=list)
    target: ResolvedTarget | None = None
    addresses: list[Address] = msgspec.field(default_factory=list)
    error: str | None = None


class KeyInfo(msgspec.Struct, frozen=True):
    key_id: str
    key: str
    valid_until_ts: int
    expired: bool


class KeysReport(msgspec.Struct):
    server_name: str
    ok: bool
    connected_to: str | None = None
    keys: list[KeyInfo] = msgspec.field(default_factory=list)
    response: dict[str, Any] | None = None
    error: str | None = None


class VersionReport(msgspec.Struct):
    server_name: str
    ok: bool
    connected_to: str | None = None
    server: dict[str, Any] | None = None
    error: str | None = None


def _checked(server_name: str) -> str:
    if not is_valid_server_name(server_name):
        raise errors.invalid_param(f"{server_name!r} is not a valid server name")
    return server_name


class FederationDiagnostics:
    def __init__(self, server_name: str, client: FederationClient, keys: ServerKeysService,
                 policy: FederationPolicy) -> None:
        self._server_name = server_name
        self._client = client
        self._keys = keys
        self._policy = policy

    async def resolve(self, server_name: str) -> ResolveReport:
        """Each discovery step for ``server_name``, the target, its addresses and which
        of them the IP policy lets outbound federation connect to."""
        report = ResolveReport(_checked(server_name),
                               self._policy.server_allowed(server_name))
        if not report.allowed_by_domain_whitelist:
            report.error = "not in federation.domain_whitelist: nothing was looked up"
            return report
        try:
            resolution: Resolution = await self._client.discovery.resolve(server_name)
        except ValueError as e:
            report.error = str(e)
            return report
        report.steps = [DiscoveryStep(s.lookup, s.name, s.result, s.cached)
                        for s in resolution.steps]
        t = resolution.target
        report.target = ResolvedTarget(t.host, t.port, t.host_header, t.tls_name, t.rule)
        allowed, refused = await self._client.allowed_addresses(t.host)
        report.addresses = [Address(a, True) for a in allowed] + [
            Address(a, False) for a in refused]
        if not report.addresses:
            report.error = f"{t.host} has no address"
        elif not allowed:
            report.error = "every address is in federation.ip_range_blacklist"
        return report

    async def keys(self, server_name: str) -> KeysReport:
        """Fetch ``server_name``'s keys now, verify them, and cache them."""
        report = KeysReport(_checked(server_name), ok=False)
        try:
            fetched = await self._keys.fetch(server_name)
        except KeyUnavailable as e:
            report.error = str(e)
            return report
        report.ok = True
        report.connected_to = f"{fetched.address}:{fetched.port}"
        report.keys = [KeyInfo(k.key_id, k.verify_key, k.valid_until_ts, k.expired)
                       for k in fetched.keys]
        report.response = fetched.response
        return report

    async def version(self, server_name: str) -> VersionReport:
        """``/_matrix/federation/v1/version`` of ``server_name``, in a signed request."""
        report = VersionReport(_checked(server_name), ok=False)
        try:
            answer = await self._client.request(server_name, "GET",
                                                "/_matrix/federation/v1/version")
        except (FederationError, ValueError, MatrixError) as e:
            report.error = str(e) if not isinstance(e, MatrixError) else e.error
            return report
        server = answer.body.get("server") if isinstance(answer.body, dict) else None
        if not isinstance(server, dict):
            report.error = "the answer has no server object"
            return report
        report.ok = True
        report.connected_to = f"{answer.address}:{answer.port}"
        report.server = server
        return report
