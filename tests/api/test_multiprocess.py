"""Two Glia processes on one PostgreSQL database: a long-polling sync on one process
wakes when a message is sent through the other (LISTEN/NOTIFY), and both serve the same
accounts and rooms."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from tests.kit import Kit, create_room, send_event
from tests.server import GliaProcess


def test_sync_wakes_across_processes(db_kind: str,
                                     new_database_url: Callable[[], str]) -> None:
    if db_kind != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    url = new_database_url()
    first = GliaProcess(url).start()
    second = GliaProcess(url).start()
    kit_a, kit_b = Kit(first.url), Kit(second.url)
    try:
        alice = kit_a.register_user()
        bob = kit_a.register_user()
        room = create_room(kit_a, alice, preset="public_chat")
        r = kit_b.request("POST", f"/_matrix/client/v3/join/{room}", bob.access_token,
                          json={})
        assert r.status_code == 200, r.text  # the second process knows the first's data
        since = kit_a.request("GET", "/_matrix/client/v3/sync", bob.access_token,
                              params={"timeout": "0"}).json()["next_batch"]

        def send_later() -> None:
            time.sleep(0.5)
            send_event(kit_b, alice, room, {"msgtype": "m.text", "body": "via b"})

        sender = threading.Thread(target=send_later)
        started = time.monotonic()
        sender.start()
        r = kit_a.request("GET", "/_matrix/client/v3/sync", bob.access_token,
                          params={"since": since, "timeout": "20000"})
        elapsed = time.monotonic() - started
        sender.join()
        assert r.status_code == 200, r.text
        events = r.json()["rooms"]["join"][room]["timeline"]["events"]
        assert [e["content"]["body"] for e in events] == ["via b"]
        assert elapsed < 10, elapsed
    finally:
        kit_a.close()
        kit_b.close()
        first.stop()
        second.stop()
        for server in (first, second):
            assert "Traceback" not in server.log(), server.log()[-3000:]
