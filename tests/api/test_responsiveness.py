"""A big operation must not stall other clients: while one runs, loopback pollers keep
asking the server for cheap things — its versions (no auth), ``whoami`` (a token
look-up) and a message sent into another room (a write) — and every one of them is
answered, during the operation, not only once it ended.

Correctness only: how fast they are answered is the benchmark's business (bench/)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from tests.kit import Kit, User, create_room, unique

#: Invitees of the big room (the issue's case). Local users that need not be registered.
INVITES = 4000
#: The operation's duration is cut into this many equal parts, and each poller must
#: have a request answered within every part: answered throughout, not only before
#: and after a stretch where it waited (a transaction holding the writer for the
#: whole operation, the event loop held by one long statement).
PARTS = 5


@dataclass
class Poller:
    """One client asking the same thing over and over on its own connection."""

    name: str
    ask: Callable[[httpx.Client], httpx.Response]
    #: (started, answered, status) per request.
    polls: list[tuple[float, float, int]] = field(default_factory=list)

    def run(self, base_url: str, stop: threading.Event) -> None:
        with httpx.Client(base_url=base_url, timeout=120) as client:
            while not stop.is_set():
                started = time.monotonic()
                status = self.ask(client).status_code
                self.polls.append((started, time.monotonic(), status))
                # Leave the server's CPU to the operation between polls.
                stop.wait(0.01)


def other_clients(kit: Kit) -> list[Poller]:
    """A user with a small room of their own, and pollers on their behalf."""
    other = kit.register_user()
    room_id = create_room(kit, other)
    auth = {"Authorization": f"Bearer {other.access_token}"}
    return [
        Poller("versions", lambda c: c.get("/_matrix/client/versions")),
        Poller("whoami", lambda c: c.get("/_matrix/client/v3/account/whoami", headers=auth)),
        Poller("send", lambda c: c.put(
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{unique('txn')}",
            headers=auth, json={"msgtype": "m.text", "body": "still here"})),
    ]


def run_while_polled(kit: Kit, operation: Callable[[], httpx.Response]
                     ) -> tuple[httpx.Response, list[Poller]]:
    """Run ``operation`` while the other clients poll; check that each poller was
    answered, always with 200, throughout the operation."""
    pollers = other_clients(kit)
    stop = threading.Event()
    threads = [threading.Thread(target=p.run, args=(kit.base_url, stop)) for p in pollers]
    for thread in threads:
        thread.start()
    try:
        # Every poller is answered once before the operation starts.
        for poller in pollers:
            while not poller.polls:
                stop.wait(0.01)
        began = time.monotonic()
        response = operation()
        ended = time.monotonic()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    for poller in pollers:
        statuses = {status for _, _, status in poller.polls}
        assert statuses == {200}, (poller.name, statuses)
        part = (ended - began) / PARTS
        answered = {int((done - began) / part) for _, done, _ in poller.polls
                    if began < done < ended}
        assert answered == set(range(PARTS)), (
            f"{poller.name}: requests answered in parts {sorted(answered)} of the"
            f" {ended - began:.1f} s operation cut in {PARTS}")
    return response, pollers


def test_other_clients_are_answered_while_a_room_with_4000_invites_is_created(
        kit: Kit) -> None:
    creator: User = kit.register_user()
    invitees = [f"@{unique('invitee')}:localhost" for _ in range(INVITES)]
    response, _ = run_while_polled(kit, lambda: kit.request(
        "POST", "/_matrix/client/v3/createRoom", creator.access_token,
        json={"preset": "private_chat", "invite": invitees}, timeout=900))
    assert response.status_code == 200, response.text
    room_id = response.json()["room_id"]
    # Every invite was written.
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/members",
                    creator.access_token, params={"membership": "invite"})
    assert r.status_code == 200, r.text
    assert sorted(e["state_key"] for e in r.json()["chunk"]) == sorted(invitees)
