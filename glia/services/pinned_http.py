"""Outgoing HTTP that only reaches the addresses a policy allows, judged by resolved IP.

Requests whose URL a user chooses (push gateways, URL previews) could otherwise make the
server reach into its own network. The check cannot be done on the URL: a public name
may resolve to a private address, and a redirect may lead anywhere. So it is done where
the connection is made: :class:`PinnedBackend` is httpx's network backend, resolves the
name once, checks *every* address against the policy, and connects to those very
addresses — a DNS answer that changes between the check and the connection (rebinding)
cannot slip another one in. Every connection goes through it, redirects included. TLS,
SNI, certificate checks and the Host header still use the name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

__all__ = ["AddressPolicy", "BlockedAddress", "IPAddress", "PinnedBackend", "PinnedTransport",
           "Resolver", "checked_addresses", "system_resolve"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: How a name becomes addresses: ``(host, port)`` → the addresses, as text.
Resolver = Callable[[str, int], Awaitable[list[str]]]
#: Whether a connection to an address is allowed; None allows every address.
AddressPolicy = Callable[[IPAddress], bool]


class BlockedAddress(Exception):
    """``host`` resolved to (or is) an address the policy refuses."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host

    @property
    def is_literal(self) -> bool:
        """The URL named the address itself, not a host name."""
        try:
            ipaddress.ip_address(self.host.strip("[]"))
        except ValueError:
            return False
        return True


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port,
                                                         type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def checked_addresses(host: str, port: int, policy: AddressPolicy | None,
                            resolve: Resolver = system_resolve,
                            blocked: Callable[[str], Exception] = BlockedAddress,
                            ) -> list[str]:
    """Resolve ``host`` once and return the addresses to connect to; ``blocked(host)``
    is raised unless the policy allows every one of them."""
    try:
        addresses = await resolve(host, port)
    except OSError as e:  # unresolvable: a network error, retried like any other
        raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no address")
    if policy is not None:
        for address in addresses:
            if not policy(ipaddress.ip_address(address.split("%")[0])):
                raise blocked(host)
    return addresses


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """The network backend: every TCP connection goes to an address
    :func:`checked_addresses` returned for the name."""

    def __init__(self, policy: AddressPolicy | None, resolve: Resolver = system_resolve,
                 blocked: Callable[[str], Exception] = BlockedAddress) -> None:
        self._policy = policy
        self._resolve = resolve
        self._blocked = blocked
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(host, port, self._policy, self._resolve,
                                            self._blocked)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address,
                                                     socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                failure = e
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("only TCP connections are made")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that uses a :class:`PinnedBackend`
    (httpx, pinned in pyproject, keeps its pool in ``_pool``; it has no public
    parameter for the network backend)."""

    def __init__(self, backend: PinnedBackend, max_connections: int) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections, keepalive_expiry=5.0, network_backend=backend)
