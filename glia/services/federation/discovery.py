"""Server discovery with real lookups: drives the pure step sequence of
``protocol.server_discovery`` with DNS (SRV through dnspython, addresses through the
system resolver) and ``.well-known`` fetches, caching ``.well-known`` answers as the spec
recommends. Every step is recorded, so the admin diagnostics can show the way taken.

The resolver is passed in: tests answer SRV and ``.well-known`` lookups themselves and
never touch real DNS.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.rdtypes.IN.SRV
import dns.resolver

from glia.clock import Clock
from glia.protocol.server_discovery import (
    Answer,
    SrvLookup,
    SrvRecord,
    Target,
    WellKnownAnswer,
    WellKnownLookup,
    discover,
    is_ip_literal,
    well_known_cache_seconds,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WellKnownResult:
    """A ``.well-known`` fetch: the answer, and its ``Cache-Control`` (None on error)."""

    answer: WellKnownAnswer
    cache_control: str | None = None


class Resolver(Protocol):
    """The DNS lookups discovery needs."""

    async def srv(self, name: str) -> list[SrvRecord]:
        """SRV records of ``name`` (empty when there are none or the lookup failed)."""

    async def addresses(self, host: str) -> list[str]:
        """The IP addresses of ``host`` (AAAA and A, following CNAMEs); empty if none."""


#: Special-use names (RFC 6761) that must never be sent to DNS: ``localhost`` resolves
#: locally, ``invalid`` never resolves.
LOCAL_ONLY_TLDS = ("localhost", "invalid")


def _local_only(name: str) -> bool:
    return name.rstrip(".").rpartition(".")[2].lower() in LOCAL_ONLY_TLDS


class SystemResolver:
    """SRV through dnspython, addresses through the operating system's resolver (so
    ``/etc/hosts`` applies, as for every other program on the machine). Special-use
    names are answered without asking DNS."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = timeout

    async def srv(self, name: str) -> list[SrvRecord]:
        if _local_only(name):
            return []
        try:
            answer = await dns.asyncresolver.resolve(name, "SRV", lifetime=self._timeout)
        except (dns.exception.DNSException, OSError) as e:
            logger.debug("SRV lookup of %s: %s", name, e)
            return []
        return [SrvRecord(r.priority, r.weight, r.target.to_text(), r.port)
                for r in answer if isinstance(r, dns.rdtypes.IN.SRV.SRV)]

    async def addresses(self, host: str) -> list[str]:
        if is_ip_literal(host):
            return [host]
        if host.rstrip(".").rpartition(".")[2].lower() == "invalid":
            return []
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as e:
            logger.debug("address lookup of %s: %s", host, e)
            return []
        seen: list[str] = []
        for info in infos:
            address = str(info[4][0])
            if address not in seen:
                seen.append(address)
        return seen


@dataclass(frozen=True)
class Step:
    """One lookup discovery made and what it found."""

    lookup: str
    name: str
    result: str
    cached: bool = False


@dataclass
class Resolution:
    """Where a server name leads, and the steps that led there."""

    server_name: str
    target: Target
    steps: list[Step] = field(default_factory=list)


WellKnownFetcher = Callable[[str], Awaitable[WellKnownResult]]


class Discovery:
    def __init__(self, resolver: Resolver, fetch_well_known: WellKnownFetcher,
                 clock: Clock) -> None:
        self.resolver = resolver
        self._fetch_well_known = fetch_well_known
        self._clock = clock
        #: hostname → (answer, monotonic time it expires); per process, like Synapse's.
        self._well_known: dict[str, tuple[WellKnownAnswer, float]] = {}

    async def resolve(self, server_name: str) -> Resolution:
        """Run the spec's steps for ``server_name`` (ValueError if it is invalid)."""
        steps: list[Step] = []
        sequence = discover(server_name)
        answer: Answer | None = None
        try:
            lookup = next(sequence)
            while True:
                if isinstance(lookup, WellKnownLookup):
                    answer = await self._well_known_answer(lookup.hostname, steps)
                else:
                    assert isinstance(lookup, SrvLookup)
                    answer = await self.resolver.srv(lookup.name)
                    steps.append(Step("srv", lookup.name, ", ".join(
                        f"{r.priority} {r.weight} {r.port} {r.target}" for r in answer)
                        or "no records"))
                lookup = sequence.send(answer)
        except StopIteration as done:
            target: Target = done.value
        return Resolution(server_name, target, steps)

    async def _well_known_answer(self, hostname: str, steps: list[Step]) -> WellKnownAnswer:
        now = self._clock.monotonic()
        cached = self._well_known.get(hostname)
        if cached is not None and cached[1] > now:
            answer = cached[0]
            steps.append(Step("well-known", hostname, _describe(answer), cached=True))
            return answer
        result = await self._fetch_well_known(hostname)
        answer = result.answer
        ttl = well_known_cache_seconds(result.cache_control, answer.server is not None)
        if ttl > 0:
            self._well_known[hostname] = (answer, now + ttl)
        steps.append(Step("well-known", hostname, _describe(answer)))
        return answer


def _describe(answer: WellKnownAnswer) -> str:
    return f"m.server: {answer.server}" if answer.server else f"error: {answer.error}"
