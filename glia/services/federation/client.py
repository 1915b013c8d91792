"""The outbound federation client: resolves a server name (discovery), refuses
destinations and addresses the policy forbids, signs the request with our key and
speaks HTTPS to the address it resolved, with the ``Host`` header and certificate name
the spec asks for.

Addresses are resolved here and checked against the IP policy before connecting, and
the connection goes to the checked address itself, so a name cannot be re-pointed
between the check and the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from signedjson.types import SigningKey

from glia.clock import Clock
from glia.config_federation import FederationConfig
from glia.protocol.federation_auth import authorization_header
from glia.protocol.server_discovery import WellKnownAnswer, is_ip_literal, parse_well_known
from glia.services.federation.backoff import DestinationBackoff, NotRetrying
from glia.services.federation.discovery import (
    Discovery,
    Resolution,
    Resolver,
    WellKnownResult,
)
from glia.services.federation.policy import FederationPolicy

logger = logging.getLogger(__name__)

#: Largest response body read from a remote server; more is treated as garbage.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
#: Redirects followed for ``.well-known`` (the spec says follow them, avoiding loops).
MAX_REDIRECTS = 5


class FederationError(Exception):
    """A remote server could not be reached or did not answer usable JSON."""


class RemoteError(FederationError):
    """The remote server answered with an error status."""

    def __init__(self, status: int, errcode: str | None, error: str | None) -> None:
        super().__init__(f"HTTP {status} {errcode or ''} {error or ''}".strip())
        self.status = status
        self.errcode = errcode
        self.error = error


@dataclass(frozen=True)
class Answer:
    """A remote server's JSON answer and where it came from."""

    body: Any
    address: str
    port: int


def _ssl_context(config: FederationConfig) -> ssl.SSLContext | bool:
    if not config.verify_certificates:
        return False
    if config.custom_ca_list:
        return ssl.create_default_context(cafile=config.custom_ca_list)
    return ssl.create_default_context()


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


class FederationClient:
    def __init__(self, server_name: str, signing_key: SigningKey, config: FederationConfig,
                 policy: FederationPolicy, resolver: Resolver, clock: Clock,
                 backoff: DestinationBackoff | None = None,
                 well_known_port: int = 443) -> None:
        """``backoff`` (None: none) keeps destinations that fail from being retried at
        once. ``well_known_port`` is where ``.well-known`` is fetched: 443, as the spec
        says; tests serve it on a port of their own."""
        self.server_name = server_name
        self._backoff = backoff
        self._well_known_port = well_known_port
        self._key = signing_key
        self._policy = policy
        self._resolver = resolver
        self._timeout = config.request_timeout
        self._http = httpx.AsyncClient(verify=_ssl_context(config), trust_env=False,
                                       follow_redirects=False,
                                       timeout=httpx.Timeout(config.request_timeout))
        self.discovery = Discovery(resolver, self.fetch_well_known, clock)

    @property
    def request_timeout(self) -> float:
        """Seconds one request may take per address tried."""
        return self._timeout

    async def close(self) -> None:
        await self._http.aclose()

    async def allowed_addresses(self, host: str) -> tuple[list[str], list[str]]:
        """(allowed, refused) addresses of ``host`` under the IP policy."""
        addresses = await self._resolver.addresses(host)
        allowed = [a for a in addresses if self._policy.address_allowed(a)]
        return allowed, [a for a in addresses if a not in allowed]

    async def _open(self, host: str, port: int, host_header: str, tls_name: str,
                    method: str, uri: str, headers: dict[str, str], body: bytes | None
                    ) -> tuple[httpx.Response, str, float]:
        """The response (its body not read yet) of the first allowed address of
        ``host`` that answers within the request timeout, its address, and the
        event-loop time that timeout ends (each address gets the whole of it)."""
        allowed, refused = await self.allowed_addresses(host)
        if not allowed:
            why = (f"its addresses are blocked by federation.ip_range_blacklist: "
                   f"{', '.join(refused)}" if refused else "it has no address")
            raise FederationError(f"cannot connect to {host}: {why}")
        extensions = {} if is_ip_literal(tls_name) else {"sni_hostname": tls_name}
        last: Exception | None = None
        for address in allowed:
            url = f"https://{_url_host(address)}:{port}{uri}"
            deadline = asyncio.get_running_loop().time() + self._timeout
            try:
                async with asyncio.timeout_at(deadline):
                    request = self._http.build_request(
                        method, url, headers={**headers, "Host": host_header}, content=body,
                        extensions=extensions)
                    return await self._http.send(request, stream=True), address, deadline
            except TimeoutError:
                last = TimeoutError(f"no answer within {self._timeout:g} s")
                logger.info("federation %s %s via %s:%d timed out", method, host_header,
                            address, port)
            except (httpx.HTTPError, ssl.SSLError, OSError) as e:
                last = e
                logger.info("federation %s %s via %s:%d failed: %s", method, host_header,
                            address, port, e)
        raise FederationError(f"cannot reach {host_header} ({last})")

    async def _send(self, host: str, port: int, host_header: str, tls_name: str,
                    method: str, uri: str, headers: dict[str, str], body: bytes | None
                    ) -> tuple[httpx.Response, bytes, str]:
        response, address, deadline = await self._open(host, port, host_header, tls_name,
                                                       method, uri, headers, body)
        try:
            # The whole exchange, not each read, within the timeout: a peer dripping
            # bytes cannot hold the request (and what waits on it) longer than this.
            async with asyncio.timeout_at(deadline):
                data = await _read_capped(response)
        except TimeoutError as e:
            raise FederationError(f"cannot reach {host_header} (no complete answer within"
                                  f" {self._timeout:g} s)") from e
        except (httpx.HTTPError, ssl.SSLError, OSError) as e:
            raise FederationError(f"cannot reach {host_header} ({e})") from e
        finally:
            await response.aclose()
        return response, data, address

    @contextlib.asynccontextmanager
    async def stream(self, destination: str, path: str, query: dict[str, str] | None = None
                     ) -> AsyncIterator[httpx.Response]:
        """A signed ``GET`` of ``path`` on ``destination`` whose body is left for the
        caller to read (media: larger than any JSON answer), which also bounds the time
        that takes; connecting and the answer's headers take at most the request
        timeout. As for the lookups our users ask for, it is tried whatever the
        destination's back-off, and its failure does not count.

        Raises :class:`FederationError`, ``MatrixError`` for a destination the domain
        allow-list refuses, ValueError for an invalid server name."""
        self._policy.check_server(destination)
        resolution = await self.discovery.resolve(destination)
        uri = path + (f"?{urlencode(query)}" if query else "")
        headers = {"Authorization": authorization_header(
            "GET", uri, self.server_name, resolution.server_name, self._key, None)}
        target = resolution.target
        response, _, _ = await self._open(target.host, target.port, target.host_header,
                                          target.tls_name, "GET", uri, headers, None)
        try:
            yield response
        finally:
            await response.aclose()

    @contextlib.asynccontextmanager
    async def stream_url(self, url: str) -> AsyncIterator[httpx.Response]:
        """An unsigned ``GET`` of an ``https`` URL another server sent us to (a media
        ``Location``), under the same IP policy as every federation request."""
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise FederationError("the redirect is not to an https URL")
        try:
            port = parts.port or 443
        except ValueError as e:
            raise FederationError("the redirect has an invalid port") from e
        host_header = parts.netloc.rpartition("@")[2]
        uri = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response, _, _ = await self._open(parts.hostname, port, host_header, parts.hostname,
                                          "GET", uri, {}, None)
        try:
            yield response
        finally:
            await response.aclose()

    async def request(self, destination: str, method: str, path: str,
                      query: dict[str, str] | None = None, content: Any = None,
                      signed: bool = True, ignore_backoff: bool = False) -> Answer:
        """Send a request to ``destination`` and return its JSON answer.
        ``ignore_backoff``: send it even while the destination backs off, and do not
        count its failure (a success still clears the back-off).

        Raises :class:`RemoteError` for an error status, :class:`FederationError` for
        anything else that went wrong (a destination backing off included),
        ``MatrixError`` for a destination the domain allow-list refuses, ValueError for
        an invalid server name."""
        self._policy.check_server(destination)
        if self._backoff is None:
            resolution = await self.discovery.resolve(destination)
            return await self.request_resolved(resolution, method, path, query, content,
                                               signed)
        try:
            before = await (self._backoff.state(destination) if ignore_backoff
                            else self._backoff.check(destination))
        except NotRetrying as e:
            raise FederationError(str(e)) from e
        resolution = await self.discovery.resolve(destination)
        try:
            answer = await self.request_resolved(resolution, method, path, query, content,
                                                 signed)
        except RemoteError as e:
            if e.status < 500:
                await self._backoff.succeeded(destination, before)
            elif not ignore_backoff:
                await self._backoff.failed(destination, before)
            raise
        except FederationError:
            if not ignore_backoff:
                await self._backoff.failed(destination, before)
            raise
        await self._backoff.succeeded(destination, before)
        return answer

    async def request_resolved(self, resolution: Resolution, method: str, path: str,
                               query: dict[str, str] | None = None, content: Any = None,
                               signed: bool = True) -> Answer:
        uri = path + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "application/json"}
        body = None
        if content is not None:
            body = json.dumps(content, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if signed:
            headers["Authorization"] = authorization_header(
                method, uri, self.server_name, resolution.server_name, self._key, content)
        target = resolution.target
        response, data, address = await self._send(
            target.host, target.port, target.host_header, target.tls_name, method, uri,
            headers, body)
        parsed = _json(data)
        if response.status_code // 100 != 2:
            errcode = parsed.get("errcode") if isinstance(parsed, dict) else None
            error = parsed.get("error") if isinstance(parsed, dict) else None
            raise RemoteError(response.status_code,
                              errcode if isinstance(errcode, str) else None,
                              error if isinstance(error, str) else None)
        if parsed is _INVALID:
            raise FederationError(f"{resolution.server_name} answered something not JSON")
        return Answer(parsed, address, target.port)

    async def fetch_well_known(self, hostname: str) -> WellKnownResult:
        """``GET https://<hostname>/.well-known/matrix/server``, following redirects."""
        host, port, path = hostname, self._well_known_port, "/.well-known/matrix/server"
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response, data, _ = await self._send(host, port, host, host, "GET", path,
                                                     {"Accept": "application/json"}, None)
            except FederationError as e:
                return WellKnownResult(WellKnownAnswer(None, str(e)))
            if response.status_code in (301, 302, 303, 307, 308):
                location = urlsplit(response.headers.get("location", ""))
                if location.scheme not in ("", "https"):
                    return WellKnownResult(WellKnownAnswer(None, "redirect away from https"))
                host = location.hostname or host
                port = location.port or (self._well_known_port if location.hostname
                                          else port)
                path = (location.path or "/") + (f"?{location.query}" if location.query
                                                  else "")
                continue
            if response.status_code != 200:
                return WellKnownResult(WellKnownAnswer(None, f"HTTP {response.status_code}"))
            try:
                server = parse_well_known(_json(data))
            except ValueError as e:
                return WellKnownResult(WellKnownAnswer(None, str(e)))
            return WellKnownResult(WellKnownAnswer(server),
                                   response.headers.get("cache-control"))
        return WellKnownResult(WellKnownAnswer(None, "too many redirects"))


_INVALID = object()


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return _INVALID


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise FederationError("the response is too large")
        chunks.append(chunk)
    return b"".join(chunks)
