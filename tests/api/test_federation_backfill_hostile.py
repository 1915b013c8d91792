"""A scripted server in a Glia's room: what it answers a backfill is checked like any
received event (events of another room, bad signatures are not stored; a forged content
hash keeps only the redacted event), the auth events Glia had to fetch from it
(outliers) are served back to other servers in ``event_auth`` and the auth chains of
``state_ids`` / ``state``, and Dendrite's admin ``downloadState`` takes from it only the
state events that pass their checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from glia.protocol.events import compute_event_id
from glia.protocol.signing import generate_signing_key
from tests.api.fake_federation import FakeServer
from tests.api.federation_rooms_kit import RoomPair, join_on_a, start_pair, state_ids
from tests.api.test_federation_backfill import page_all
from tests.federation import signed_request
from tests.kit import Kit, User, assert_error, create_room, send_event, unique


@pytest.fixture(scope="module")
def with_fake(new_database_url: Callable[[], str]) -> Iterator[tuple[RoomPair, FakeServer]]:
    for p in start_pair(new_database_url):
        assert p.ca is not None
        name, port = p.spare[0]
        fake = FakeServer(name, port, str(p.ca.cert_path), str(p.ca.key_path))
        try:
            yield p, fake
        finally:
            fake.close()


def _latest(p: RoomPair, fake: FakeServer, alice: User, room_id: str) -> tuple[str, int]:
    """(ID, depth) of the room's latest event on A, as a server in the room reads it."""
    r = p.kit_a.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/messages"
                        "?dir=b&limit=1", alice.access_token)
    event_id = r.json()["chunk"][0]["event_id"]
    r = signed_request(fake.name, fake.key, p.a, "GET",
                       f"/_matrix/federation/v1/event/{quote(event_id)}")
    assert r.status_code == 200, r.text
    return event_id, int(r.json()["pdus"][0]["depth"])


def _visible(kit: Kit, user: User, room_id: str, event_id: str) -> bool:
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/event/"
                    f"{quote(event_id)}", user.access_token)
    return r.status_code == 200


def test_a_hostile_backfill_answer_stores_only_what_passes_the_checks(
        with_fake: tuple[RoomPair, FakeServer]) -> None:
    p, fake = with_fake
    alice = p.kit_a.register_user(unique("alice"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    other_room = create_room(p.kit_a, alice, preset="public_chat")
    mallory = fake.user()
    join_id = fake.join(p.a, room_id, mallory)
    state = state_ids(p.kit_a, alice, room_id)
    auth = [state[("m.room.power_levels", "")], join_id]
    latest, depth = _latest(p, fake, alice, room_id)

    def message(body: str, prev: list[str], room: str = room_id, **kw: Any
                ) -> tuple[str, dict[str, Any]]:
        return fake.event(room, mallory, "m.room.message",
                          {"msgtype": "m.text", "body": body}, prev, auth, depth + 1, **kw)

    missing_id, missing = message("the missing one", [latest])
    other_id, other = message("another room's", [latest], room=other_room)
    badly_signed_id, badly_signed = message("badly signed", [latest],
                                            key=generate_signing_key("fake"))
    forged_id, forged = message("honest", [latest])
    forged["content"]["body"] = "forged"  # after signing: the content hash fails
    after_id, after = fake.event(room_id, mallory, "m.room.message",
                                 {"msgtype": "m.text", "body": "after the gap"},
                                 [missing_id], auth, depth + 2)
    fake.backfill_pdus = [other, badly_signed, forged, missing]

    # A cannot fill the gap before "after the gap" (get_missing_events answers nothing)
    # and takes it as a new forward extremity; paging back to it backfills from B.
    assert fake.send(p.a, [after]) == {after_id: {}}
    events = page_all(p.kit_a, alice, room_id, 20)
    assert fake.backfill_asked and quote(missing_id, safe="") in fake.backfill_asked[0]
    ids = [e["event_id"] for e in events]
    assert ids.index(missing_id) < ids.index(after_id)
    assert other_id not in ids and badly_signed_id not in ids
    assert not _visible(p.kit_a, alice, room_id, badly_signed_id)
    assert not _visible(p.kit_a, alice, other_room, other_id)
    # The forged event is kept only as the spec says, redacted: its body never shows.
    bodies = [e["content"].get("body") for e in events]
    assert "forged" not in bodies and "honest" not in bodies
    for event in events:
        if event["event_id"] == forged_id:
            assert event["content"] == {}


def test_outliers_are_served_in_auth_chains(with_fake: tuple[RoomPair, FakeServer]) -> None:
    p, fake = with_fake
    alice = p.kit_a.register_user(unique("alice"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    mallory = fake.user()
    join_id = fake.join(p.a, room_id, mallory)
    state = state_ids(p.kit_a, alice, room_id)
    power, rules = state[("m.room.power_levels", "")], state[("m.room.join_rules", "")]
    latest, depth = _latest(p, fake, alice, room_id)
    # A rename that only the scripted server serves (/event), never sends.
    rename_id, rename = fake.event(room_id, mallory, "m.room.member",
                                   {"membership": "join", "displayname": "Mal"},
                                   [latest], [power, rules, join_id], depth + 1,
                                   state_key=mallory)
    fake.events[rename_id] = rename
    said_id, said = fake.event(room_id, mallory, "m.room.message",
                               {"msgtype": "m.text", "body": "hi"}, [latest],
                               [power, rename_id], depth + 1)
    assert fake.send(p.a, [said]) == {said_id: {}}
    assert not _visible(p.kit_a, alice, room_id, rename_id)  # an outlier, not timeline

    r = signed_request(fake.name, fake.key, p.a, "GET",
                       f"/_matrix/federation/v1/event_auth/{quote(room_id)}/"
                       f"{quote(said_id)}")
    assert r.status_code == 200, r.text
    chain = r.json()["auth_chain"]
    assert rename_id in [fake_id(fake, e) for e in chain]

    # A state event authorised by the outlier: the state's auth chain names it.
    again_id, again = fake.event(room_id, mallory, "m.room.member",
                                 {"membership": "join", "displayname": "Mal 2"},
                                 [said_id], [power, rules, rename_id], depth + 2,
                                 state_key=mallory)
    assert fake.send(p.a, [again]) == {again_id: {}}
    assert state_ids(p.kit_a, alice, room_id)[("m.room.member", mallory)] == again_id
    after = send_event(p.kit_a, alice, room_id, {"msgtype": "m.text", "body": "after"})
    r = signed_request(fake.name, fake.key, p.a, "GET",
                       f"/_matrix/federation/v1/state_ids/{quote(room_id)}"
                       f"?event_id={quote(after)}")
    assert r.status_code == 200, r.text
    assert again_id in r.json()["pdu_ids"]
    assert rename_id in r.json()["auth_chain_ids"]
    r = signed_request(fake.name, fake.key, p.a, "GET",
                       f"/_matrix/federation/v1/state/{quote(room_id)}"
                       f"?event_id={quote(after)}")
    assert r.status_code == 200, r.text
    assert rename_id in [fake_id(fake, e) for e in r.json()["auth_chain"]]


def fake_id(fake: FakeServer, pdu: dict[str, Any]) -> str:
    return compute_event_id(pdu, fake.version)


def _download(kit: Kit, admin: User, server: str, room_id: str, method: str = "POST"
              ) -> Any:
    return kit.request(method, f"/_dendrite/admin/downloadState/{quote(server)}/"
                       f"{quote(room_id)}", admin.access_token,
                       json={} if method == "POST" else None)


def test_download_state_repairs_a_missed_state_event_and_checks_each(
        with_fake: tuple[RoomPair, FakeServer]) -> None:
    p, fake = with_fake
    admin = p.kit_a.make_admin()
    alice = p.kit_a.register_user(unique("alice"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    mallory = fake.user()
    join_id = fake.join(p.a, room_id, mallory)
    r = p.kit_a.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                        "m.room.power_levels/", alice.access_token)
    levels = r.json()
    levels.setdefault("users", {})[mallory] = 50
    r = p.kit_a.request("PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                        "m.room.power_levels/", alice.access_token, json=levels)
    assert r.status_code == 200, r.text
    ours = state_ids(p.kit_a, alice, room_id)
    latest, depth = _latest(p, fake, alice, room_id)
    power = ours[("m.room.power_levels", "")]
    # Two state events A never received: a topic mallory may set, and a name signed
    # with a key that is not the server's.
    topic_id, topic = fake.event(room_id, mallory, "m.room.topic", {"topic": "repaired"},
                                 [latest], [power, join_id], depth + 1, state_key="")
    name_id, name = fake.event(room_id, mallory, "m.room.name", {"name": "forged"},
                               [latest], [power, join_id], depth + 1, state_key="",
                               key=generate_signing_key("fake"))
    fake.events.update({topic_id: topic, name_id: name})
    fake.state_ids = {"pdu_ids": sorted({**ours, ("m.room.topic", ""): topic_id,
                                         ("m.room.name", ""): name_id}.values()),
                      "auth_chain_ids": []}

    r = _download(p.kit_a, admin, fake.name, room_id)
    assert r.status_code == 200, r.text
    assert r.json() == {}
    after = state_ids(p.kit_a, alice, room_id)
    assert after == {**ours, ("m.room.topic", ""): topic_id}
    r = p.kit_a.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                        "m.room.topic/", alice.access_token)
    assert r.json() == {"topic": "repaired"}
    assert _visible(p.kit_a, alice, room_id, topic_id)  # written as a received event
    # Asking again changes nothing; so does asking a real server that agrees (B).
    assert _download(p.kit_a, admin, fake.name, room_id, "GET").json() == {}
    bob = p.kit_b.register_user(unique("bob"))
    join_on_a(p, alice, bob, room_id)
    settled = state_ids(p.kit_a, alice, room_id)
    r = _download(p.kit_a, admin, p.b.name, room_id)
    assert r.status_code == 200, r.text
    assert state_ids(p.kit_a, alice, room_id) == settled


def test_download_state_refuses_bad_input(with_fake: tuple[RoomPair, FakeServer]) -> None:
    p, fake = with_fake
    admin = p.kit_a.make_admin()
    alice = p.kit_a.register_user(unique("alice"))
    room_id = create_room(p.kit_a, alice)
    assert_error(_download(p.kit_a, admin, fake.name, "!nowhere:" + p.a.name), 404,
                 "M_NOT_FOUND")
    assert_error(_download(p.kit_a, admin, "bad server!", room_id), 400, "M_INVALID_PARAM")
    assert_error(_download(p.kit_a, admin, p.a.name, room_id), 400, "M_INVALID_PARAM")
    assert_error(_download(p.kit_a, alice, fake.name, room_id), 403, "M_FORBIDDEN")
