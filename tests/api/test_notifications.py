"""``GET /notifications`` over real HTTP: what the server-default rules notify about
(messages, mentions, @room with and without the power to, invites, not member events,
notices, edits or reactions), the read flag, highlight filtering, pagination, and
redactions taking their notification away."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.kit import Kit, User, assert_error, create_room, send_event, unique, wait_for_job

C = "/_matrix/client/v3"


def _q(value: str) -> str:
    return quote(value, safe="")


def _page(kit: Kit, user: User, **params: Any) -> dict[str, Any]:
    r = kit.request("GET", f"{C}/notifications", user.access_token, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _notes(kit: Kit, user: User, **params: Any) -> list[dict[str, Any]]:
    return list(_page(kit, user, **params)["notifications"])


def _join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"{C}/rooms/{_q(room_id)}/join", user.access_token, json={})
    assert r.status_code == 200, r.text


def _text(body: str, **extra: Any) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body, **extra}


@pytest.fixture
def trio(kit: Kit) -> tuple[User, User, User, str]:
    """Alice's public room (she has power 100) with Bob and Carol joined."""
    alice, bob, carol = kit.register_user(), kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat", name="Notifying room")
    _join(kit, bob, room_id)
    _join(kit, carol, room_id)
    return alice, bob, carol, room_id


def test_message_notifies_the_others(kit: Kit, trio: tuple[User, User, User, str]) -> None:
    alice, bob, carol, room_id = trio
    event_id = send_event(kit, alice, room_id, _text("hello all"))
    for user in (bob, carol):
        page = _page(kit, user)
        assert "next_token" not in page
        [note] = page["notifications"]
        assert note["room_id"] == room_id
        assert note["actions"] == ["notify"]
        assert note["read"] is False
        assert note["profile_tag"] == ""
        assert isinstance(note["ts"], int) and note["ts"] > 0
        event = note["event"]
        assert event["event_id"] == event_id and event["sender"] == alice.user_id
        assert event["type"] == "m.room.message"
        assert event["content"] == {"msgtype": "m.text", "body": "hello all"}
        assert "room_id" not in event and "origin_server_ts" in event
    # Never for one's own events; and joins did not notify anyone.
    assert _notes(kit, alice) == []


def test_what_does_not_notify(kit: Kit, trio: tuple[User, User, User, str]) -> None:
    alice, bob, _, room_id = trio
    target = send_event(kit, alice, room_id, _text("original"))
    send_event(kit, alice, room_id, {"msgtype": "m.notice", "body": "a bot speaks"})
    send_event(kit, alice, room_id, {
        "msgtype": "m.text", "body": "* edited", "m.new_content": _text("edited"),
        "m.relates_to": {"rel_type": "m.replace", "event_id": target}})
    send_event(kit, alice, room_id, {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": "👍"}},
        event_type="m.reaction")
    r = kit.request("PUT", f"{C}/rooms/{_q(room_id)}/state/m.room.topic/",
                    alice.access_token, json={"topic": "quiet"})
    assert r.status_code == 200, r.text
    assert [n["event"]["event_id"] for n in _notes(kit, bob)] == [target]


def test_mentions_highlight(kit: Kit, trio: tuple[User, User, User, str]) -> None:
    alice, bob, carol, room_id = trio
    mention = send_event(kit, alice, room_id, _text(
        "ping", **{"m.mentions": {"user_ids": [bob.user_id]}}))
    bob_localpart = bob.user_id[1:].split(":")[0]
    legacy = send_event(kit, alice, room_id, _text(f"hey {bob_localpart}, look"))
    plain = send_event(kit, alice, room_id, _text("nothing special"))
    notes = {n["event"]["event_id"]: n for n in _notes(kit, bob)}
    assert set(notes) == {mention, legacy, plain}
    for event_id in (mention, legacy):
        assert {"set_tweak": "highlight"} in notes[event_id]["actions"]
        assert {"set_tweak": "sound", "value": "default"} in notes[event_id]["actions"]
    assert notes[plain]["actions"] == ["notify"]
    assert [n["event"]["event_id"] for n in _notes(kit, bob, only="highlight")] == [
        legacy, mention]
    # Carol was not mentioned (the m.mentions event also skips the body rules).
    carol_notes = {n["event"]["event_id"]: n for n in _notes(kit, carol)}
    assert carol_notes[mention]["actions"] == ["notify"]
    assert _notes(kit, carol, only="highlight") == []


def test_room_mention_needs_power(kit: Kit, trio: tuple[User, User, User, str]) -> None:
    alice, bob, carol, room_id = trio
    # Alice (power 100) may notify the whole room; Bob (power 0) may not.
    by_alice = send_event(kit, alice, room_id, _text("@room meeting", **{
        "m.mentions": {"room": True}}))
    by_bob = send_event(kit, bob, room_id, _text("@room party", **{
        "m.mentions": {"room": True}}))
    legacy = send_event(kit, alice, room_id, _text("@room without mentions"))
    notes = {n["event"]["event_id"]: n for n in _notes(kit, carol)}
    assert notes[by_alice]["actions"] == ["notify", {"set_tweak": "highlight"}]
    assert notes[legacy]["actions"] == ["notify", {"set_tweak": "highlight"}]
    assert notes[by_bob]["actions"] == ["notify"]
    alice_notes = {n["event"]["event_id"]: n for n in _notes(kit, alice)}
    assert alice_notes[by_bob]["actions"] == ["notify"]


def test_one_to_one_and_invites(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="private_chat", invite=[bob.user_id],
                          is_direct=True)
    # The invite itself notifies the invitee, with a sound.
    [invite] = _notes(kit, bob)
    assert invite["room_id"] == room_id
    assert invite["event"]["type"] == "m.room.member"
    assert invite["event"]["state_key"] == bob.user_id
    assert invite["actions"] == ["notify", {"set_tweak": "sound", "value": "default"}]
    _join(kit, bob, room_id)
    # Two members: messages ring as one-to-one.
    event_id = send_event(kit, alice, room_id, _text("just us"))
    note = _notes(kit, bob)[0]
    assert note["event"]["event_id"] == event_id
    assert note["actions"] == ["notify", {"set_tweak": "sound", "value": "default"}]
    encrypted = send_event(kit, alice, room_id, {"algorithm": "m.megolm.v1.aes-sha2",
                                                  "ciphertext": "x", "session_id": "s"},
                           event_type="m.room.encrypted")
    note = _notes(kit, bob)[0]
    assert note["event"]["event_id"] == encrypted
    assert note["actions"] == ["notify", {"set_tweak": "sound", "value": "default"}]


def test_read_flag_follows_own_events(kit: Kit, trio: tuple[User, User, User, str]) -> None:
    alice, bob, _, room_id = trio
    first = send_event(kit, alice, room_id, _text("one"))
    second = send_event(kit, alice, room_id, _text("two"))
    assert [n["read"] for n in _notes(kit, bob)] == [False, False]
    # Sending an event reads the room up to it.
    send_event(kit, bob, room_id, _text("I am here"))
    third = send_event(kit, alice, room_id, _text("three"))
    notes = _notes(kit, bob)
    assert [(n["event"]["event_id"], n["read"]) for n in notes] == [
        (third, False), (second, True), (first, True)]


def test_pagination(kit: Kit, trio: tuple[User, User, User, str]) -> None:
    alice, bob, _, room_id = trio
    sent = [send_event(kit, alice, room_id, _text(f"message {i}")) for i in range(5)]
    newest_first = list(reversed(sent))
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        page = _page(kit, bob, **params)
        pages += 1
        seen += [n["event"]["event_id"] for n in page["notifications"]]
        if "next_token" not in page:
            break
        assert isinstance(page["next_token"], str)
        params["from"] = page["next_token"]
    assert seen == newest_first and pages == 3
    assert [n["event"]["event_id"] for n in _notes(kit, bob, limit=0)] == []
    assert len(_notes(kit, bob)) == 5
    assert_error(kit.request("GET", f"{C}/notifications", bob.access_token,
                             params={"from": "abc"}), 400, "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{C}/notifications", bob.access_token,
                             params={"limit": "-1"}), 400, "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{C}/notifications"), 401, "M_MISSING_TOKEN")


def test_redaction_removes_notification(kit: Kit,
                                        trio: tuple[User, User, User, str]) -> None:
    alice, bob, _, room_id = trio
    keep = send_event(kit, alice, room_id, _text("keep"))
    gone = send_event(kit, alice, room_id, _text("oops"))
    r = kit.request("PUT", f"{C}/rooms/{_q(room_id)}/redact/{_q(gone)}/{unique('t')}",
                    alice.access_token, json={"reason": "typo"})
    assert r.status_code == 200, r.text
    assert [n["event"]["event_id"] for n in _notes(kit, bob)] == [keep]


def test_threads_notify(kit: Kit, trio: tuple[User, User, User, str]) -> None:
    alice, bob, _, room_id = trio
    root = send_event(kit, alice, room_id, _text("root"))
    reply = send_event(kit, alice, room_id, _text("in thread", **{
        "m.relates_to": {"rel_type": "m.thread", "event_id": root}}))
    assert [n["event"]["event_id"] for n in _notes(kit, bob)] == [reply, root]


def test_purged_room_takes_its_notifications(kit: Kit,
                                            trio: tuple[User, User, User, str]) -> None:
    alice, bob, _, room_id = trio
    other = create_room(kit, alice, preset="public_chat")
    _join(kit, bob, other)
    kept = send_event(kit, alice, other, _text("elsewhere"))
    send_event(kit, alice, room_id, _text("doomed"))
    send_event(kit, bob, room_id, _text("read up to here"))
    admin = kit.make_admin()
    r = kit.request("DELETE", f"/_synapse/admin/v2/rooms/{_q(room_id)}", admin.access_token,
                    json={"purge": True})
    assert r.status_code == 200, r.text
    wait_for_job(kit, admin, r.json()["delete_id"])
    assert [n["event"]["event_id"] for n in _notes(kit, bob)] == [kept]
