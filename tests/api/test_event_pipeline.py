"""The event-write pipeline over real HTTP: canonical JSON per room version on every path
that builds an event, and the after-commit subscribers surviving a crash."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from glia.config import load_config
from glia.storage import open_storage
from tests.kit import Kit, User, assert_error, create_room, send_event, wait_until
from tests.server import GliaProcess

V3 = "/_matrix/client/v3"
#: Every room version that enforces canonical JSON (v6+), and every one that does not.
STRICT = ["6", "7", "8", "9", "10", "11", "12"]
LENIENT = ["1", "2", "3", "4", "5"]
NOT_CANONICAL: list[Any] = [1.5, 2.0, 2**53, -(2**53), [1, {"deep": 0.5}]]


def _send(kit: Kit, user: User, room_id: str, content: dict[str, Any]) -> Any:
    return kit.request("PUT", f"{V3}/rooms/{room_id}/send/m.room.message/{uuid.uuid4().hex}",
                       user.access_token, json=content)


def _event(kit: Kit, user: User, room_id: str, event_id: str) -> Any:
    # Event IDs of room version 3 use standard base64, which may contain "/" and "+".
    r = kit.request("GET", f"{V3}/rooms/{room_id}/event/{quote(event_id, safe='')}",
                    user.access_token)
    assert r.status_code == 200, r.text
    return r.json()


def _state(kit: Kit, user: User, room_id: str, event_type: str, content: dict[str, Any]
           ) -> Any:
    return kit.request("PUT", f"{V3}/rooms/{room_id}/state/{event_type}/",
                       user.access_token, json=content)


@pytest.mark.parametrize("version", STRICT)
def test_strict_versions_refuse_floats_and_big_integers(kit: Kit, version: str) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice, room_version=version)
    for value in NOT_CANONICAL:
        body = assert_error(_send(kit, alice, room_id, {"body": "x", "n": value}),
                            400, "M_BAD_JSON")
        assert "content.n" in body["error"]
        assert_error(_state(kit, alice, room_id, "org.example.s", {"n": value}),
                     400, "M_BAD_JSON")
    # The limits themselves are canonical.
    for value in (2**53 - 1, -(2**53) + 1):
        r = _send(kit, alice, room_id, {"body": "edge", "n": value})
        assert r.status_code == 200, r.text
        event = _event(kit, alice, room_id, r.json()["event_id"])
        assert event["content"]["n"] == value


@pytest.mark.parametrize("version", LENIENT)
def test_older_versions_accept_what_strict_ones_refuse(kit: Kit, version: str) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice, room_version=version)
    r = _send(kit, alice, room_id, {"body": "x", "n": 1.5, "big": 2**53})
    assert r.status_code == 200, r.text
    event = _event(kit, alice, room_id, r.json()["event_id"])
    assert event["content"]["n"] == 1.5 and event["content"]["big"] == 2**53
    r = _state(kit, alice, room_id, "org.example.s", {"n": 0.25})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("version", ["5", "6", "12"])
def test_create_room_checks_initial_state_and_power_levels(kit: Kit, version: str) -> None:
    alice = kit.register_user()
    strict = version in STRICT
    bodies: list[dict[str, Any]] = [
        {"initial_state": [{"type": "org.example.s", "state_key": "", "content": {"n": 1.5}}]},
        {"power_level_content_override": {"users_default": 0, "org.example": 2**60}},
        {"creation_content": {"org.example.n": 0.5}},
    ]
    for extra in bodies:
        r = kit.request("POST", f"{V3}/createRoom", alice.access_token,
                        json={"room_version": version, **extra})
        if strict:
            assert_error(r, 400, "M_BAD_JSON")
        else:
            assert r.status_code == 200, r.text
    if strict:
        # Nothing of the refused rooms was made.
        joined = kit.request("GET", f"{V3}/joined_rooms", alice.access_token).json()
        assert joined["joined_rooms"] == []


# -- crash between commit and fan-out ------------------------------------------------


async def _undo_fanout(server: GliaProcess, event_id: str) -> None:
    """Leave the database as a crash right after the event's commit leaves it: the event
    and its outbox row, and nothing its subscribers would have written."""
    storage = await open_storage(load_config(None, server.env), run_migrations=False)
    try:
        async with storage.transaction() as tx:
            event = await tx.events.get(event_id)
            assert event is not None
            await tx.search.delete_event(event_id, event.room_id)
            await tx.push.delete_event_notifications(event_id)
            await tx.outbox.add([(event.stream_ordering, event_id)], due_ts=0)
    finally:
        await storage.close()


def test_subscribers_catch_up_after_a_crash_between_commit_and_fanout(
        glia_factory: Any) -> None:
    server: GliaProcess = glia_factory()
    kit = Kit(server.url)
    try:
        alice, bob = kit.register_user(), kit.register_user()
        room_id = create_room(kit, alice, preset="public_chat")
        assert kit.request("POST", f"{V3}/join/{room_id}", bob.access_token).status_code == 200
        word = f"w{uuid.uuid4().hex[:12]}"
        event_id = send_event(kit, alice, room_id, {"msgtype": "m.text",
                                                    "body": f"{word} {bob.user_id}"})

        server.kill9()
        kit.http.close()
        asyncio.run(_undo_fanout(server, event_id))
        server.start()
        kit = Kit(server.url)

        def found() -> list[str]:
            r = kit.request("POST", f"{V3}/search", bob.access_token, json={
                "search_categories": {"room_events": {"search_term": word}}})
            assert r.status_code == 200, r.text
            return [hit["result"]["event_id"]
                    for hit in r.json()["search_categories"]["room_events"]["results"]]

        def notified() -> list[str]:
            r = kit.request("GET", f"{V3}/notifications", bob.access_token)
            assert r.status_code == 200, r.text
            return [n["event"]["event_id"] for n in r.json()["notifications"]]

        assert wait_until(found, what="the search index") == [event_id]
        assert wait_until(notified, what="the notification") == [event_id]
        r = kit.request("GET", f"{V3}/sync", bob.access_token)
        counts = r.json()["rooms"]["join"][room_id]["unread_notifications"]
        assert counts["notification_count"] == 1
        assert counts["highlight_count"] == 1  # bob's user ID is in the body
    finally:
        kit.close()
