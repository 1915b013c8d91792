"""Which address is the client's, given the TCP peer and ``X-Forwarded-For``."""

from __future__ import annotations

import ipaddress

import pytest

from glia.http.parsing import forwarded_client

TRUSTED = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8"),
           ipaddress.ip_network("fd00::/8")]


@pytest.mark.parametrize(("peer", "header", "client"), [
    ("192.0.2.1", "203.0.113.9", "192.0.2.1"),  # an untrusted peer speaks for itself
    ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
    ("127.0.0.1", "1.1.1.1, 203.0.113.9", "203.0.113.9"),  # left of the client: forged
    ("127.0.0.1", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # a chain of trusted proxies
    ("127.0.0.1", "10.0.0.8,10.0.0.7", "10.0.0.8"),  # only proxies: the leftmost
    ("127.0.0.1", "203.0.113.9, junk", "127.0.0.1"),  # garbage ends the walk
    ("127.0.0.1", "junk, 10.0.0.7", "10.0.0.7"),
    ("fd00::1", " 2001:db8::5 ", "2001:db8::5"),
    ("127.0.0.1", "", "127.0.0.1"),
])
def test_forwarded_client(peer: str, header: str, client: str) -> None:
    assert forwarded_client(peer, header, TRUSTED) == client


def test_nothing_trusted() -> None:
    assert forwarded_client("127.0.0.1", "203.0.113.9", []) == "127.0.0.1"
