"""Who we federate with: the domain allow-list (both ways) and the address ranges
outbound connections may never reach (so a remote server name cannot point us into our
own network)."""

from __future__ import annotations

import ipaddress

from glia import errors
from glia.config_federation import FederationConfig

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class FederationPolicy:
    def __init__(self, config: FederationConfig) -> None:
        self._domains = frozenset(config.domain_whitelist)
        self._blocked = [ipaddress.ip_network(n, strict=False)
                         for n in config.ip_range_blacklist]
        self._allowed = [ipaddress.ip_network(n, strict=False)
                         for n in config.ip_range_whitelist]

    def server_allowed(self, server_name: str) -> bool:
        """Whether the domain allow-list (if any) lets us talk to ``server_name``."""
        return not self._domains or server_name in self._domains

    def check_server(self, server_name: str) -> None:
        """``403 M_FORBIDDEN`` for a server outside the domain allow-list."""
        if not self.server_allowed(server_name):
            raise errors.forbidden(f"Federation with {server_name} is not allowed")

    def address_allowed(self, address: str) -> bool:
        """Whether outbound federation may connect to ``address`` (an IP literal): not in
        a blocked range, or in an explicitly allowed one. IPv4-mapped IPv6 addresses are
        judged as the IPv4 address they carry."""
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in n for n in self._allowed):
            return True
        return not any(ip in n for n in self._blocked)
