"""The spec's server-name resolution steps, driven with chosen answers (no DNS)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from glia.protocol.server_discovery import (
    Answer,
    SrvLookup,
    SrvRecord,
    Target,
    WellKnownAnswer,
    WellKnownLookup,
    discover,
    order_srv,
    parse_well_known,
    split_server_name,
    well_known_cache_seconds,
)


def run(server_name: str, well_known: dict[str, WellKnownAnswer],
        srv: dict[str, Sequence[SrvRecord]]) -> tuple[Target, list[object]]:
    """Drive discovery; returns the target and the lookups it asked for, in order."""
    asked: list[object] = []
    steps = discover(server_name)
    try:
        lookup = next(steps)
        while True:
            asked.append(lookup)
            answer: Answer
            if isinstance(lookup, WellKnownLookup):
                answer = well_known.get(lookup.hostname, WellKnownAnswer(None, "HTTP 404"))
            else:
                answer = srv.get(lookup.name, [])
            lookup = steps.send(answer)
    except StopIteration as done:
        return done.value, asked


def test_ip_literal_needs_no_lookup() -> None:
    assert run("1.2.3.4", {}, {}) == (Target("1.2.3.4", 8448, "1.2.3.4", "1.2.3.4",
                                             "1. IP literal"), [])
    target, asked = run("[2001:db8::1]:8000", {}, {})
    assert (target.host, target.port, target.host_header, target.tls_name) == (
        "2001:db8::1", 8000, "[2001:db8::1]:8000", "2001:db8::1")
    assert asked == []


def test_explicit_port_needs_no_lookup() -> None:
    target, asked = run("hs.example:1234", {}, {})
    assert (target.host, target.port, target.host_header, target.tls_name) == (
        "hs.example", 1234, "hs.example:1234", "hs.example")
    assert asked == []


def test_well_known_to_ip_literal() -> None:
    target, asked = run("hs.example", {"hs.example": WellKnownAnswer("5.6.7.8:9000")}, {})
    assert (target.host, target.port, target.host_header, target.tls_name) == (
        "5.6.7.8", 9000, "5.6.7.8:9000", "5.6.7.8")
    assert asked == [WellKnownLookup("hs.example")]


def test_well_known_with_port() -> None:
    target, _ = run("hs.example", {"hs.example": WellKnownAnswer("matrix.hs.example:443")},
                    {})
    assert (target.host, target.port, target.host_header, target.tls_name) == (
        "matrix.hs.example", 443, "matrix.hs.example:443", "matrix.hs.example")


def test_well_known_then_matrix_fed_srv_of_the_delegated_name() -> None:
    srv = {"_matrix-fed._tcp.m.hs.example": [SrvRecord(10, 0, "box.hs.example.", 8449)],
           "_matrix-fed._tcp.hs.example": [SrvRecord(10, 0, "wrong.example", 1)]}
    target, asked = run("hs.example", {"hs.example": WellKnownAnswer("m.hs.example")}, srv)
    assert (target.host, target.port, target.host_header, target.tls_name) == (
        "box.hs.example", 8449, "m.hs.example", "m.hs.example")
    assert asked == [WellKnownLookup("hs.example"), SrvLookup("_matrix-fed._tcp.m.hs.example")]


def test_well_known_then_deprecated_srv_then_8448() -> None:
    srv = {"_matrix._tcp.m.hs.example": [SrvRecord(10, 0, "old.hs.example", 8450)]}
    target, asked = run("hs.example", {"hs.example": WellKnownAnswer("m.hs.example")}, srv)
    assert (target.host, target.port, target.host_header) == ("old.hs.example", 8450,
                                                              "m.hs.example")
    assert asked[-1] == SrvLookup("_matrix._tcp.m.hs.example")
    target, _ = run("hs.example", {"hs.example": WellKnownAnswer("m.hs.example")}, {})
    assert (target.host, target.port, target.host_header, target.tls_name) == (
        "m.hs.example", 8448, "m.hs.example", "m.hs.example")


def test_no_well_known_srv_on_the_server_name() -> None:
    srv = {"_matrix-fed._tcp.hs.example": [SrvRecord(10, 0, "box.hs.example", 8449)]}
    target, asked = run("hs.example", {}, srv)
    assert (target.host, target.port, target.host_header, target.tls_name) == (
        "box.hs.example", 8449, "hs.example", "hs.example")
    assert asked == [WellKnownLookup("hs.example"), SrvLookup("_matrix-fed._tcp.hs.example")]
    srv = {"_matrix._tcp.hs.example": [SrvRecord(10, 0, "legacy.hs.example", 8449)]}
    assert run("hs.example", {}, srv)[0].host == "legacy.hs.example"


def test_nothing_found_means_port_8448() -> None:
    target, asked = run("hs.example", {}, {})
    assert (target.host, target.port, target.host_header, target.tls_name) == (
        "hs.example", 8448, "hs.example", "hs.example")
    assert asked == [WellKnownLookup("hs.example"), SrvLookup("_matrix-fed._tcp.hs.example"),
                     SrvLookup("_matrix._tcp.hs.example")]


def test_srv_order_and_no_service_target() -> None:
    records = [SrvRecord(20, 100, "c", 1), SrvRecord(10, 1, "b", 1),
               SrvRecord(10, 50, "a", 1), SrvRecord(0, 0, ".", 1)]
    assert [r.target for r in order_srv(records)] == ["a", "b", "c"]
    assert run("hs.example", {}, {"_matrix-fed._tcp.hs.example": [SrvRecord(0, 0, ".", 0)]}
               )[0].port == 8448


@pytest.mark.parametrize("name, expected", [
    ("hs.example", ("hs.example", None)), ("hs.example:80", ("hs.example", 80)),
    ("[::1]", ("::1", None)), ("[::1]:8448", ("::1", 8448)), ("1.2.3.4:5", ("1.2.3.4", 5)),
])
def test_split_server_name(name: str, expected: tuple[str, int | None]) -> None:
    assert split_server_name(name) == expected


@pytest.mark.parametrize("name", ["", "hs example", "hs.example:0", "hs.example:99999",
                                  "a/b"])
def test_invalid_server_names(name: str) -> None:
    with pytest.raises(ValueError):
        split_server_name(name)


def test_parse_well_known() -> None:
    assert parse_well_known({"m.server": "m.hs.example:443"}) == "m.hs.example:443"
    for bad in ({}, {"m.server": 5}, {"m.server": "not a name"}, [], "x"):
        with pytest.raises(ValueError):
            parse_well_known(bad)


@pytest.mark.parametrize("header, ok, seconds", [
    (None, True, 86400), ("max-age=600", True, 600), ("public, max-age=999999", True, 172800),
    ("no-store", True, 0), ("max-age=600", False, 3600), (None, False, 3600),
])
def test_well_known_cache_time(header: str | None, ok: bool, seconds: int) -> None:
    assert well_known_cache_seconds(header, ok) == seconds
