"""Resolving a server name to where its federation API answers (the spec's "Resolving
server names"), as a pure sequence of steps.

:func:`discover` is a generator: it yields each lookup it needs (a ``.well-known``
fetch, an SRV query) and is sent the answer, then returns the :class:`Target`. The
services drive it with real I/O; tests and the admin diagnostics drive it with answers
they choose, and every step taken is visible to them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass

from glia.ids import is_valid_server_name

DEFAULT_PORT = 8448
#: Cache times for ``.well-known`` answers (the spec's recommendations).
WELL_KNOWN_DEFAULT_CACHE_S = 24 * 3600
WELL_KNOWN_MAX_CACHE_S = 48 * 3600
WELL_KNOWN_ERROR_CACHE_S = 3600


@dataclass(frozen=True)
class WellKnownLookup:
    """Fetch ``https://<hostname>/.well-known/matrix/server``; answer a
    :class:`WellKnownAnswer`."""

    hostname: str


@dataclass(frozen=True)
class WellKnownAnswer:
    """The delegated server name, or the error that made the lookup fail."""

    server: str | None
    error: str | None = None


@dataclass(frozen=True)
class SrvLookup:
    """Query SRV records of ``name``; answer a list of :class:`SrvRecord` (empty: none)."""

    name: str


@dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    target: str
    port: int


Lookup = WellKnownLookup | SrvLookup
Answer = WellKnownAnswer | Sequence[SrvRecord]


@dataclass(frozen=True)
class Target:
    """Where to connect (``host`` is an IP literal or a hostname still to be resolved by
    AAAA/A), the ``Host`` header to send, the name the TLS certificate must be valid for,
    and which rule of the spec chose it."""

    host: str
    port: int
    host_header: str
    tls_name: str
    rule: str


def split_server_name(name: str) -> tuple[str, int | None]:
    """``host[:port]`` → (host, port); IPv6 literals keep their brackets off.
    Raises ValueError for a name that is not a valid server name."""
    if not is_valid_server_name(name):
        raise ValueError(f"{name!r} is not a valid server name")
    if name.startswith("["):
        end = name.index("]")
        host, rest = name[1:end], name[end + 1:]
    else:
        host, _, port_text = name.partition(":")
        rest = f":{port_text}" if port_text else ""
    port = int(rest[1:]) if rest else None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{name!r} has an invalid port")
    return host, port


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def order_srv(records: Sequence[SrvRecord]) -> list[SrvRecord]:
    """Records in the order to try: lowest priority first, heavier weight first within
    one (a deterministic reading of RFC 2782); a ``.`` target means "no service"."""
    usable = [r for r in records if r.target not in ("", ".")]
    return sorted(usable, key=lambda r: (r.priority, -r.weight, r.target))


def parse_well_known(body: object) -> str:
    """The ``m.server`` of a ``.well-known/matrix/server`` body; ValueError if absent or
    not a valid server name."""
    if not isinstance(body, dict):
        raise ValueError("the body is not a JSON object")
    server = body.get("m.server")
    if not isinstance(server, str) or not is_valid_server_name(server):
        raise ValueError("m.server is missing or not a valid server name")
    return server


def well_known_cache_seconds(cache_control: str | None, ok: bool) -> int:
    """How long to keep a ``.well-known`` answer: its ``max-age`` (``no-store``/
    ``no-cache``: not at all) capped at 48 hours, 24 hours without one; errors an hour."""
    if not ok:
        return WELL_KNOWN_ERROR_CACHE_S
    if cache_control:
        directives = [d.strip().lower() for d in cache_control.split(",")]
        if "no-store" in directives or "no-cache" in directives:
            return 0
        for d in directives:
            m = re.fullmatch(r"max-age\s*=\s*(\d+)", d)
            if m:
                return min(int(m.group(1)), WELL_KNOWN_MAX_CACHE_S)
    return WELL_KNOWN_DEFAULT_CACHE_S


def _srv_steps(hostname: str, host_header: str, rule_prefix: str
               ) -> Generator[Lookup, Answer, Target | None]:
    for service, rule in (("_matrix-fed._tcp", f"{rule_prefix} SRV _matrix-fed._tcp"),
                          ("_matrix._tcp", f"{rule_prefix} SRV _matrix._tcp (deprecated)")):
        answer = yield SrvLookup(f"{service}.{hostname}")
        records = order_srv(answer if not isinstance(answer, WellKnownAnswer) else [])
        if records:
            best = records[0]
            return Target(best.target.rstrip("."), best.port, host_header, hostname, rule)
    return None


def discover(server_name: str) -> Generator[Lookup, Answer, Target]:
    """The spec's resolution steps for ``server_name`` (ValueError if it is invalid)."""
    host, port = split_server_name(server_name)
    if is_ip_literal(host):
        return Target(host, port or DEFAULT_PORT, server_name, host,
                      "1. IP literal")
    if port is not None:
        return Target(host, port, server_name, host, "2. hostname with explicit port")
    answer = yield WellKnownLookup(host)
    delegated = answer.server if isinstance(answer, WellKnownAnswer) else None
    if delegated is not None:
        d_host, d_port = split_server_name(delegated)
        if is_ip_literal(d_host):
            return Target(d_host, d_port or DEFAULT_PORT, delegated, d_host,
                          "3.1 .well-known delegation to an IP literal")
        if d_port is not None:
            return Target(d_host, d_port, delegated, d_host,
                          "3.2 .well-known delegation with explicit port")
        found = yield from _srv_steps(d_host, d_host, "3.3/3.4 .well-known delegation,")
        if found is not None:
            return found
        return Target(d_host, DEFAULT_PORT, d_host, d_host,
                      "3.5 .well-known delegation, port 8448")
    found = yield from _srv_steps(host, host, "4/5.")
    if found is not None:
        return found
    return Target(host, DEFAULT_PORT, host, host, "6. hostname, port 8448")

