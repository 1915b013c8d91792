"""A long write must not stall other requests: while one client creates a room with
hundreds of invites, another client's requests keep being answered."""

from __future__ import annotations

import threading
import time

import httpx

from tests.kit import Kit

#: Invitees of the big room: the issue's case is 1,000; 500 keep the test short on
#: PostgreSQL while still taking seconds. Invitees need not be registered.
INVITES = 500


def test_create_room_with_many_invites_lets_other_requests_through(kit: Kit) -> None:
    creator = kit.register_user()
    invitees = [f"@invitee{i}-{time.monotonic_ns()}:localhost" for i in range(INVITES)]
    done = threading.Event()
    answered: list[tuple[int, float]] = []

    def poll() -> None:
        with httpx.Client(base_url=kit.base_url, timeout=30) as client:
            while not done.is_set():
                started = time.monotonic()
                r = client.get("/_matrix/client/versions")
                if not done.is_set():
                    answered.append((r.status_code, time.monotonic() - started))
                time.sleep(0.02)

    poller = threading.Thread(target=poll)
    started = time.monotonic()
    poller.start()
    r = kit.request("POST", "/_matrix/client/v3/createRoom", creator.access_token,
                    json={"preset": "private_chat", "invite": invitees}, timeout=300)
    took = time.monotonic() - started
    done.set()
    poller.join()
    assert r.status_code == 200, r.text
    # A loop held by the whole transaction answers the poller a handful of times at most
    # (before the create starts and after it ends).
    assert len(answered) > 10, (took, answered)
    assert {status for status, _ in answered} == {200}
