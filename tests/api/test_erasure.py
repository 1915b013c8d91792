"""Erasure (deactivation with ``erase: true``) as a later member of the room would probe
it: every way of reading an erased user's messages serves them redacted to users who
joined after they were sent, while members who saw them keep seeing them (Synapse's
rule)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User, create_room, send_event, unique, wait_until

V3 = "/_matrix/client/v3"


def _get(kit: Kit, user: User, path: str) -> dict[str, Any]:
    r = kit.request("GET", path, user.access_token)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _search(kit: Kit, user: User, term: str) -> list[str]:
    r = kit.request("POST", f"{V3}/search", user.access_token, json={
        "search_categories": {"room_events": {"search_term": term}}})
    assert r.status_code == 200, r.text
    return [h["result"]["event_id"]
            for h in r.json()["search_categories"]["room_events"]["results"]]


def _by_id(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["event_id"]: e for e in events}


def _joined(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"{V3}/join/{quote(room_id)}", user.access_token, json={})
    assert r.status_code == 200, r.text


def test_erased_users_messages_are_redacted_for_later_members(kit: Kit) -> None:
    alice, bob, carol = kit.register_user(), kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    room = quote(room_id)
    _joined(kit, bob, room_id)
    secret = unique("secret")
    said = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": f"{secret} words"})
    root = send_event(kit, bob, room_id, {"msgtype": "m.text", "body": "a thread"})
    reply = send_event(kit, alice, room_id, {
        "msgtype": "m.text", "body": f"{secret} in a thread",
        "m.relates_to": {"rel_type": "m.thread", "event_id": root}})
    original = _get(kit, bob, f"{V3}/rooms/{room}/event/{said}")["content"]

    r = kit.request("POST", f"{V3}/account/deactivate", alice.access_token, json={
        "erase": True, "auth": {"type": "m.login.password", "password": alice.password,
                                "identifier": {"type": "m.id.user", "user": alice.user_id}}})
    assert r.status_code == 200, r.text
    _joined(kit, carol, room_id)

    # Carol, who joined after the messages were sent, gets them redacted on every path.
    assert _get(kit, carol, f"{V3}/rooms/{room}/event/{said}")["content"] == {}
    messages = _by_id(_get(kit, carol, f"{V3}/rooms/{room}/messages?dir=b&limit=100")
                      ["chunk"])
    assert messages[said]["content"] == {} and messages[reply]["content"] == {}
    assert messages[root]["content"]["body"] == "a thread"
    context = _get(kit, carol, f"{V3}/rooms/{room}/context/{said}?limit=10")
    assert context["event"]["content"] == {}
    around = _by_id(context["events_before"] + context["events_after"])
    assert around[reply]["content"] == {}
    children = _by_id(_get(kit, carol, f"/_matrix/client/v1/rooms/{room}/relations/"
                           f"{quote(root)}")["chunk"])
    assert children[reply]["content"] == {}
    latest = messages[root]["unsigned"]["m.relations"]["m.thread"]["latest_event"]
    assert latest["event_id"] == reply and latest["content"] == {}
    sync = _get(kit, carol, f"{V3}/sync?filter="
                + quote('{"room":{"timeline":{"limit":50}}}'))
    timeline = _by_id(sync["rooms"]["join"][room_id]["timeline"]["events"])
    assert timeline[said]["content"] == {}
    federation = _get(kit, carol, f"{V3}/sync?filter=" + quote(
        '{"event_format":"federation","room":{"timeline":{"limit":50}}}'))
    pdus = federation["rooms"]["join"][room_id]["timeline"]["events"]
    alices = [p for p in pdus if p["sender"] == alice.user_id and p["type"] == "m.room.message"]
    assert len(alices) == 2 and all(p["content"] == {} for p in alices)
    # Searching for the erased words finds nothing, so a match cannot reveal them.
    assert _search(kit, carol, secret) == []
    for body in (messages, context, sync, federation):
        assert secret not in str(body)

    # Bob, who was in the room, keeps seeing them as before.
    assert _get(kit, bob, f"{V3}/rooms/{room}/event/{said}")["content"] == original
    bobs = _by_id(_get(kit, bob, f"{V3}/rooms/{room}/messages?dir=b&limit=100")["chunk"])
    assert bobs[said]["content"] == original
    assert bobs[reply]["content"]["body"] == f"{secret} in a thread"
    assert set(wait_until(lambda: _search(kit, bob, secret), what="search")) == {said, reply}
