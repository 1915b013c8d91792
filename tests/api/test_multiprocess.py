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
    several = {"GLIA_DATABASE__SEVERAL_PROCESSES": "true"}
    first = GliaProcess(url, several).start()
    second = GliaProcess(url, several).start()
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
            # Lets the long-poll start waiting first (what is under test: the wake-up).
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


def test_no_event_is_skipped_when_two_processes_write(
        db_kind: str, new_database_url: Callable[[], str]) -> None:
    """Messages written concurrently through two processes reach a reader that syncs
    incrementally through one of them: every one, once (with database.several_processes
    no reader passes a position another process is still writing)."""
    if db_kind != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    url = new_database_url()
    several = {"GLIA_DATABASE__SEVERAL_PROCESSES": "true"}
    servers = [GliaProcess(url, several).start(), GliaProcess(url, several).start()]
    kits = [Kit(s.url) for s in servers]
    try:
        alice, reader = kits[0].register_user(), kits[0].register_user()
        room = create_room(kits[0], alice, preset="public_chat")
        r = kits[0].request("POST", f"/_matrix/client/v3/join/{room}", reader.access_token,
                            json={})
        assert r.status_code == 200, r.text
        since = kits[0].request("GET", "/_matrix/client/v3/sync", reader.access_token,
                                params={"timeout": "0"}).json()["next_batch"]
        sent: list[str] = []

        def send_many(kit: Kit, tag: str) -> None:
            for i in range(60):
                send_event(kit, alice, room, {"msgtype": "m.text", "body": f"{tag}{i}"})
                sent.append(f"{tag}{i}")

        writers = [threading.Thread(target=send_many, args=(k, t))
                   for k, t in ((kits[0], "a"), (kits[1], "b"))]
        for w in writers:
            w.start()
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while (any(w.is_alive() for w in writers) or len(seen) < len(sent)) and \
                time.monotonic() < deadline:
            r = kits[0].request("GET", "/_matrix/client/v3/sync", reader.access_token,
                                params={"since": since, "timeout": "1000",
                                        "filter": '{"room": {"timeline": {"limit": 1000}}}'})
            body = r.json()
            since = body["next_batch"]
            events = body.get("rooms", {}).get("join", {}).get(room, {}).get(
                "timeline", {}).get("events", [])
            seen += [e["content"]["body"] for e in events if e["type"] == "m.room.message"]
        for w in writers:
            w.join()
        assert sorted(seen) == sorted(sent), (len(seen), len(sent))
    finally:
        for kit in kits:
            kit.close()
        for server in servers:
            server.stop()
            assert "Traceback" not in server.log(), server.log()[-3000:]
