"""Two (or three) Glia servers on loopback for the room federation tests (joining,
events both ways, leaving, inviting, passing events on), and the reads those tests wait
on."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pytest

from tests.federation import (
    FederatingServer,
    LoopbackCA,
    pair_names,
    signed_request,
    start_federating,
)
from tests.kit import Kit, User, unique, wait_until
from tests.server import GliaProcess

R = TypeVar("R", bound="RoomPair")


class RoomPair:
    def __init__(self, a: FederatingServer, b: FederatingServer,
                 started: list[GliaProcess]) -> None:
        self.a, self.b = a, b
        self.kit_a, self.kit_b = Kit(a.process.url), Kit(b.process.url)
        self.started = started
        #: The test's CA, and the allowed (name, federation port) pairs no server of the
        #: test took: where a scripted server (tests/api/fake_federation.py) can listen.
        self.ca: LoopbackCA | None = None
        self.spare: list[tuple[str, int]] = []

    def close(self) -> None:
        self.kit_a.close()
        self.kit_b.close()


class RoomTrio(RoomPair):
    """Three servers: ``c`` is named like the pair's first "down" destination, so the
    domain allow-lists of all three name each other."""

    def __init__(self, a: FederatingServer, b: FederatingServer, c: FederatingServer,
                 started: list[GliaProcess]) -> None:
        super().__init__(a, b, started)
        self.c = c
        self.kit_c = Kit(c.process.url)

    def close(self) -> None:
        super().close()
        self.kit_c.close()


def start_pair(new_database_url: Callable[[], str]) -> Iterator[RoomPair]:
    yield from _start(new_database_url, 2, RoomPair)


def start_trio(new_database_url: Callable[[], str]) -> Iterator[RoomTrio]:
    yield from _start(new_database_url, 3, RoomTrio)


def _start(new_database_url: Callable[[], str], count: int,
           rooms_of: Callable[..., R]) -> Iterator[R]:
    ca = LoopbackCA()
    names, ports = pair_names()
    started: list[GliaProcess] = []

    def start(env: dict[str, str], server_name: str) -> GliaProcess:
        process = GliaProcess(new_database_url(), env, server_name=server_name)
        started.append(process)
        return process.start()

    try:
        servers = [start_federating(start, ca, names, ports, i) for i in range(count)]
        for server in servers:
            wait_federating(server)
        rooms = rooms_of(*servers, started)
        rooms.ca, rooms.spare = ca, list(zip(names[count:], ports[count:], strict=True))
        yield rooms
        rooms.close()
    finally:
        for process in started:
            process.stop()
    for process in started:
        assert "Traceback" not in process.log(), process.log()[-5000:]


def wait_federating(server: FederatingServer) -> None:
    """Wait for the federation listener too (it may start after the client one)."""

    def answers() -> bool:
        try:
            with httpx.Client(verify=ssl.create_default_context(cafile=server.ca_path),
                              timeout=5) as http:
                return http.get(server.federation_url + "/_matrix/federation/v1/version"
                                ).status_code == 200
        except httpx.HTTPError:
            return False
    wait_until(answers, what=f"the federation listener of {server.name}")


@pytest.fixture(scope="module")
def rooms_pair(new_database_url: Callable[[], str]) -> Iterator[RoomPair]:
    yield from start_pair(new_database_url)


@pytest.fixture(scope="module")
def rooms_trio(new_database_url: Callable[[], str]) -> Iterator[RoomTrio]:
    yield from start_trio(new_database_url)


def join(kit: Kit, user: User, room: str, via: list[str] | None = None) -> Any:
    query = "&".join(f"via={quote(v)}" for v in via or [])
    return kit.request("POST", f"/_matrix/client/v3/join/{quote(room)}"
                       + (f"?{query}" if query else ""), user.access_token, json={})


def messages(kit: Kit, user: User, room_id: str) -> list[dict[str, Any]]:
    """The room's timeline as ``user`` sees it, oldest first (``/messages``)."""
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/messages"
                    "?dir=b&limit=100", user.access_token)
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["chunk"]))


def bodies(kit: Kit, user: User, room_id: str) -> list[str]:
    return [e["content"].get("body") for e in messages(kit, user, room_id)
            if e["type"] == "m.room.message" and "body" in e["content"]]


def membership(kit: Kit, user: User, room_id: str, member: str) -> str | None:
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                    f"m.room.member/{quote(member)}", user.access_token)
    return r.json().get("membership") if r.status_code == 200 else None


def join_on_a(p: RoomPair, alice: User, bob: User, room_id: str,
              what: str = "bob's join on A") -> None:
    """``bob`` (a user of B) joins A's room through A; returns once A has the join."""
    assert join(p.kit_b, bob, room_id, via=[p.a.name]).status_code == 200
    wait_until(lambda: membership(p.kit_a, alice, room_id, bob.user_id) == "join",
               what=what)


def state_ids(kit: Kit, user: User, room_id: str) -> dict[tuple[str, str], str]:
    """The room's current state as ``user`` sees it: (type, state_key) → event ID."""
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state",
                    user.access_token)
    assert r.status_code == 200, r.text
    return {(e["type"], e["state_key"]): e["event_id"] for e in r.json()}


def send_as_b(p: RoomPair, pdus: list[dict[str, Any]]) -> dict[str, Any]:
    """A transaction of ``pdus`` signed by B, put straight to A: A's answer per PDU."""
    r = signed_request(p.b.name, p.b.signing_key(), p.a, "PUT",
                       f"/_matrix/federation/v1/send/{unique('txn')}",
                       {"origin": p.b.name, "origin_server_ts": p.kit_a.server_now(),
                        "pdus": pdus, "edus": []})
    assert r.status_code == 200, r.text
    return dict(r.json()["pdus"])
