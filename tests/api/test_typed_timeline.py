"""The ``filter`` parameter of ``/messages`` and ``/context``: a RoomEventFilter, read by
the same models as uploaded and ``/sync`` filters — it selects events, and a bad one is
refused naming the field (not JSON ``M_NOT_JSON``, a wrong type ``M_BAD_JSON``, an
integer past 2^53−1 ``M_INVALID_PARAM``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.kit import Kit, User, assert_error, create_room, send_event

V3 = "/_matrix/client/v3"


@pytest.fixture(scope="module")
def room(kit: Kit) -> tuple[User, User, str, list[str]]:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    r = kit.request("POST", f"{V3}/rooms/{quote(room_id)}/join", bob.access_token, json={})
    assert r.status_code == 200, r.text
    sent = [send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "a1"}),
            send_event(kit, bob, room_id, {"msgtype": "m.text", "body": "b1"}),
            send_event(kit, alice, room_id, {"msgtype": "m.image", "body": "pic",
                                              "url": "mxc://localhost/abc"})]
    return alice, bob, room_id, sent


def _messages(kit: Kit, user: User, room_id: str, event_filter: Any) -> Any:
    return kit.request("GET", f"{V3}/rooms/{quote(room_id)}/messages", user.access_token,
                       params={"dir": "b", "limit": "50",
                               "filter": json.dumps(event_filter)})


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["event_id"] for e in reversed(response.json()["chunk"])]


def test_filter_selects_events(kit: Kit, room: tuple[User, User, str, list[str]]) -> None:
    alice, bob, room_id, sent = room
    messages = {"types": ["m.room.message"]}
    assert _ids(_messages(kit, alice, room_id, messages)) == sent
    assert _ids(_messages(kit, alice, room_id, {**messages, "senders": [bob.user_id]})) \
        == [sent[1]]
    assert _ids(_messages(kit, alice, room_id, {**messages,
                                                "not_senders": [bob.user_id]})) \
        == [sent[0], sent[2]]
    assert _ids(_messages(kit, alice, room_id, {"contains_url": True})) == [sent[2]]
    assert sent[2] not in _ids(_messages(kit, alice, room_id, {"contains_url": False}))
    assert set(sent).isdisjoint(_ids(_messages(kit, alice, room_id,
                                               {"not_types": ["m.room.message"]})))
    # /context applies it around the event.
    r = kit.request("GET", f"{V3}/rooms/{quote(room_id)}/context/{quote(sent[1])}",
                    alice.access_token,
                    params={"limit": "10", "filter": json.dumps({**messages,
                                                                  "senders": [alice.user_id]})})
    assert r.status_code == 200, r.text
    assert [e["event_id"] for e in r.json()["events_before"]] == [sent[0]]
    assert [e["event_id"] for e in r.json()["events_after"]] == [sent[2]]


@pytest.mark.parametrize(("text", "errcode", "names"), [
    ("{not json", "M_NOT_JSON", ""),
    ("[]", "M_BAD_JSON", "filter"),
    ('{"types": "m.room.message"}', "M_BAD_JSON", "filter.types"),
    ('{"senders": ["bob"]}', "M_BAD_JSON", "senders"),
    ('{"contains_url": "yes"}', "M_BAD_JSON", "filter.contains_url"),
    ('{"limit": 9007199254740992}', "M_INVALID_PARAM", "filter.limit"),
    ('{"limit": -1}', "M_BAD_JSON", "limit"),
], ids=["not-json", "not-object", "types-string", "sender-not-user", "contains-url-string",
        "limit-too-big", "limit-negative"])
def test_bad_filter(kit: Kit, room: tuple[User, User, str, list[str]], text: str,
                    errcode: str, names: str) -> None:
    alice, _, room_id, sent = room
    paths = [f"{V3}/rooms/{quote(room_id)}/messages",
             f"{V3}/rooms/{quote(room_id)}/context/{quote(sent[0])}"]
    for path in paths:
        r = kit.request("GET", path, alice.access_token, params={"filter": text})
        error = assert_error(r, 400, errcode)
        assert names in error["error"], error


def test_admin_messages_take_the_filter(kit: Kit,
                                        room: tuple[User, User, str, list[str]]) -> None:
    _, bob, room_id, sent = room
    admin = kit.make_admin()
    r = kit.request("GET", f"/_synapse/admin/v1/rooms/{quote(room_id)}/messages",
                    admin.access_token,
                    params={"dir": "b", "filter": json.dumps({"senders": [bob.user_id],
                                                              "types": ["m.room.message"]})})
    assert _ids(r) == [sent[1]]
    r = kit.request("GET", f"/_synapse/admin/v1/rooms/{quote(room_id)}/messages",
                    admin.access_token, params={"filter": '{"types": 1}'})
    assert "filter.types" in assert_error(r, 400, "M_BAD_JSON")["error"]
