"""The ``federation`` section of the configuration (its own module: config.py is big).

Option names follow Synapse's where Synapse has the option, so operators moving over
recognise them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from glia.ids import is_valid_server_name

#: Synapse's default ``federation_ip_range_blacklist``: loopback, private, link-local,
#: CGNAT, multicast, documentation and other non-public ranges. Outbound federation
#: never connects there unless ``ip_range_whitelist`` lets an address through.
PRIVATE_RANGES = [
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
    "192.0.0.0/24", "169.254.0.0/16", "192.88.99.0/24", "198.18.0.0/15",
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "0.0.0.0/8",
    "::1/128", "fe80::/10", "fc00::/7", "2001:db8::/32", "ff00::/8", "fec0::/10", "::/128",
]


@dataclass(frozen=True)
class FederationListenerConfig:
    #: Serve the federation API (``/_matrix/federation``, ``/_matrix/key``) on its own
    #: port. Off: it is served on the client listener (a reverse proxy in front
    #: terminates TLS on 8448 and forwards to it).
    enabled: bool = False
    #: Address of the federation listener.
    address: str = "127.0.0.1"
    #: Port of the federation listener (8448 is the spec's default).
    port: int = 8448
    #: PEM certificate chain for TLS on the federation listener. Empty with the key
    #: empty: plain HTTP (only behind a reverse proxy that terminates TLS).
    tls_certificate_path: str = ""
    #: PEM private key of that certificate.
    tls_private_key_path: str = ""


@dataclass(frozen=True)
class FederationConfig:
    #: The federation listener.
    listener: FederationListenerConfig = field(default_factory=FederationListenerConfig)
    #: Check remote servers' TLS certificates (turn off only for tests).
    verify_certificates: bool = True
    #: PEM file of CA certificates trusted for remote servers instead of the system's.
    custom_ca_list: str = ""
    #: Networks outbound federation never connects to (Synapse's
    #: federation_ip_range_blacklist); private and loopback ranges by default.
    ip_range_blacklist: list[str] = field(default_factory=lambda: list(PRIVATE_RANGES))
    #: Networks allowed even though the blacklist covers them (a private federation).
    ip_range_whitelist: list[str] = field(default_factory=list)
    #: If not empty, the only servers we federate with, both ways (Synapse's
    #: federation_domain_whitelist).
    domain_whitelist: list[str] = field(default_factory=list)
    #: Seconds an outbound federation request may take.
    request_timeout: float = 30.0
    #: Send our users' presence to the servers sharing a room with them and keep theirs
    #: (``m.presence`` EDUs); off, presence stays local.
    presence: bool = True


def validate_federation(config: FederationConfig, problems: list[str]) -> None:
    """Append every problem of the federation section to ``problems``."""
    if not 0 <= config.listener.port <= 65535:
        problems.append("federation.listener.port: must be between 0 and 65535")
    if bool(config.listener.tls_certificate_path) != bool(config.listener.tls_private_key_path):
        problems.append("federation.listener: tls_certificate_path and tls_private_key_path"
                        " go together")
    for name, ranges in (("ip_range_blacklist", config.ip_range_blacklist),
                         ("ip_range_whitelist", config.ip_range_whitelist)):
        for network in ranges:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                problems.append(f"federation.{name}: {network!r} is not an IP network")
    for domain in config.domain_whitelist:
        if not is_valid_server_name(domain):
            problems.append(f"federation.domain_whitelist: {domain!r} is not a server name")
    if config.request_timeout <= 0:
        problems.append("federation.request_timeout: must be > 0")
