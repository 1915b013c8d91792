"""Pusher gateways cannot reach the server's own network, not even by DNS rebinding.

The gateway's name is resolved once, every address is checked, and the connection goes to
a checked address: a name whose second answer differs from the first (the attacker's DNS
server flipping to 127.0.0.1 after the check) cannot redirect the push.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest

from glia.services.push_gateway import NotPublicAddress, PinnedBackend, checked_addresses
from tests.api.test_pushers import Gateway, _pusher, _room_with, _set
from tests.kit import Kit, send_event
from tests.server import GliaProcess


class FlippingResolver:
    """An attacker's DNS: the first answer, then another one for every later lookup."""

    def __init__(self, first: list[str], later: list[str]) -> None:
        self.answers = [first, later]
        self.calls = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return self.answers[min(self.calls, 2) - 1]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 (nothing listens on 127.0.0.2 at its port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(5)
    yield sock
    sock.close()


def test_the_connection_goes_to_the_address_that_was_checked(
        listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    resolver = FlippingResolver(["127.0.0.1"], ["127.0.0.2"])

    async def connect() -> None:
        stream = await PinnedBackend(True, resolver).connect_tcp("gateway.example", port,
                                                                 timeout=5)
        await stream.aclose()

    asyncio.run(connect())
    peer, _ = listener.accept()  # the checked address got the connection
    peer.close()
    assert resolver.calls == 1


def test_private_answers_are_refused_before_connecting(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    listener.setblocking(False)
    for answers in (["127.0.0.1"], ["10.0.0.7"], ["fe80::1%1"], ["::ffff:127.0.0.1"],
                    ["0.0.0.0"]):
        resolver = FlippingResolver(answers, ["127.0.0.1"])
        with pytest.raises(NotPublicAddress):
            asyncio.run(PinnedBackend(False, resolver).connect_tcp("gw.example", port))
        assert resolver.calls == 1
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing ever connected


def test_localhost_resolves_to_a_refused_address() -> None:
    with pytest.raises(NotPublicAddress):
        asyncio.run(checked_addresses("localhost", 80, allow_private=False))
    assert "127.0.0.1" in asyncio.run(checked_addresses("localhost", 80, allow_private=True))


def test_a_gateway_named_localhost_gets_nothing(glia_factory: Callable[..., GliaProcess]
                                                ) -> None:
    gateway = Gateway()
    server = glia_factory({"GLIA_PUSH__ALLOW_PRIVATE_GATEWAYS": "false"})
    kit = Kit(server.url)
    try:
        alice, bob = kit.register_user(), kit.register_user()
        room_id = _room_with(kit, alice, bob)
        url = gateway.url.replace("127.0.0.1", "localhost")
        assert _set(kit, bob, _pusher(url, "by-name")).status_code == 200
        send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "not for loopback"})
        admin = kit.make_admin()
        deadline = time.monotonic() + 10
        while True:
            r = kit.request("GET", "/_glia/admin/v1/users/"
                            f"{quote(bob.user_id, safe='')}/pushers", admin.access_token)
            [p] = r.json()["pushers"]
            if p["failing_since_ts"] is not None:
                break
            assert time.monotonic() < deadline, p
            time.sleep(0.05)
        assert gateway.received == []
        assert "not on a public address" in server.log()
    finally:
        kit.close()
        gateway.close()
