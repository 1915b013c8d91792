"""Discovery with lookups: the service drives the spec's steps through an injected
resolver and ``.well-known`` fetcher (never real DNS), records each step and caches
``.well-known`` answers; the policy decides which names and addresses may be reached."""

from __future__ import annotations

import pytest

from glia.config_federation import FederationConfig
from glia.protocol.server_discovery import SrvRecord, WellKnownAnswer
from glia.services.federation.discovery import (
    Discovery,
    Step,
    SystemResolver,
    WellKnownResult,
)
from glia.services.federation.policy import FederationPolicy


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now_ms(self) -> int:
        return int(self.t * 1000)

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


class FakeResolver:
    def __init__(self, srv: dict[str, list[SrvRecord]]) -> None:
        self.srv_answers = srv
        self.asked: list[str] = []

    async def srv(self, name: str) -> list[SrvRecord]:
        self.asked.append(name)
        return self.srv_answers.get(name, [])

    async def addresses(self, host: str) -> list[str]:
        return []


class FakeWellKnown:
    def __init__(self, answers: dict[str, WellKnownResult]) -> None:
        self.answers = answers
        self.fetched: list[str] = []

    async def __call__(self, hostname: str) -> WellKnownResult:
        self.fetched.append(hostname)
        return self.answers.get(hostname, WellKnownResult(WellKnownAnswer(None, "HTTP 404")))


async def test_steps_are_recorded_and_well_known_is_cached() -> None:
    clock = FakeClock()
    resolver = FakeResolver({"_matrix-fed._tcp.m.hs.example": [
        SrvRecord(10, 5, "box.hs.example.", 8449)]})
    well_known = FakeWellKnown({"hs.example": WellKnownResult(
        WellKnownAnswer("m.hs.example"), "max-age=60")})
    discovery = Discovery(resolver, well_known, clock)

    first = await discovery.resolve("hs.example")
    assert (first.target.host, first.target.port, first.target.host_header) == (
        "box.hs.example", 8449, "m.hs.example")
    assert first.steps == [
        Step("well-known", "hs.example", "m.server: m.hs.example"),
        Step("srv", "_matrix-fed._tcp.m.hs.example", "10 5 8449 box.hs.example."),
    ]
    second = await discovery.resolve("hs.example")
    assert second.steps[0].cached and well_known.fetched == ["hs.example"]
    clock.t += 61  # past max-age: fetched again
    await discovery.resolve("hs.example")
    assert well_known.fetched == ["hs.example", "hs.example"]


async def test_errors_are_cached_for_an_hour() -> None:
    clock = FakeClock()
    well_known = FakeWellKnown({})
    discovery = Discovery(FakeResolver({}), well_known, clock)
    result = await discovery.resolve("hs.example")
    assert result.target.port == 8448 and result.steps[0].result == "error: HTTP 404"
    clock.t += 3599
    await discovery.resolve("hs.example")
    assert len(well_known.fetched) == 1
    clock.t += 2
    await discovery.resolve("hs.example")
    assert len(well_known.fetched) == 2


async def test_ip_literals_and_ports_need_no_lookup() -> None:
    resolver, well_known = FakeResolver({}), FakeWellKnown({})
    discovery = Discovery(resolver, well_known, FakeClock())
    assert (await discovery.resolve("10.0.0.1")).steps == []
    assert (await discovery.resolve("hs.example:443")).steps == []
    assert resolver.asked == [] and well_known.fetched == []
    with pytest.raises(ValueError):
        await discovery.resolve("not a name")


async def test_special_use_names_never_reach_dns() -> None:
    resolver = SystemResolver(timeout=0.01)
    assert await resolver.srv("_matrix-fed._tcp.localhost") == []
    assert await resolver.srv("_matrix._tcp.x.invalid") == []
    assert await resolver.addresses("x.invalid") == []
    assert await resolver.addresses("::1") == ["::1"]


def test_ip_policy_blocks_private_ranges_by_default() -> None:
    policy = FederationPolicy(FederationConfig())
    for address in ("127.0.0.1", "10.1.2.3", "192.168.1.1", "169.254.1.1", "::1",
                    "fd00::1", "::ffff:127.0.0.1", "0.0.0.0"):
        assert not policy.address_allowed(address), address
    for address in ("8.8.8.8", "2606:4700::1"):
        assert policy.address_allowed(address), address


def test_ip_allow_list_overrides_the_block_list() -> None:
    policy = FederationPolicy(FederationConfig(ip_range_whitelist=["127.0.0.0/8"]))
    assert policy.address_allowed("127.0.0.1")
    assert not policy.address_allowed("10.0.0.1")


def test_domain_allow_list() -> None:
    assert FederationPolicy(FederationConfig()).server_allowed("any.example")
    policy = FederationPolicy(FederationConfig(domain_whitelist=["a.example"]))
    assert policy.server_allowed("a.example") and not policy.server_allowed("b.example")
