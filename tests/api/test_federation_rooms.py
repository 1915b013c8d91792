"""The read-only room endpoints of federation between two real Glia servers: B (its
own key) asks A for events, state, auth chains, history, missing events, the event near
a time, space hierarchies and media. World-readable rooms answer anyone; rooms whose history
only members may read refuse a server without members (there are no remote joins yet),
as do blocked rooms and rooms whose ``m.room.server_acl`` denies the origin."""

from __future__ import annotations

import io
import json
import ssl
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from PIL import Image

from glia.protocol.events import auth_event_ids, compute_event_id, prev_event_ids
from glia.protocol.redaction import redact
from glia.protocol.room_versions import get_room_version
from glia.protocol.signing import check_content_hash, verify_json, verify_key_of
from tests.api.test_federation import F1, Pair, from_b
from tests.api.test_federation import pair as pair  # the two servers (a fixture)
from tests.api.test_media import png, upload
from tests.kit import User, assert_error, create_room, send_event, unique

V3 = "/_matrix/client/v3"
_V12 = get_room_version("12")
assert _V12 is not None
V12 = _V12


def get(fed: Pair, path: str) -> httpx.Response:
    return from_b(fed, "GET", path)


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def q(identifier: str) -> str:
    return quote(identifier, safe="")


def set_state(fed: Pair, user: User, room_id: str, event_type: str,
              content: dict[str, Any], state_key: str = "") -> str:
    r = fed.kit_a.request("PUT", f"{V3}/rooms/{q(room_id)}/state/{event_type}/{state_key}",
                           user.access_token, json=content)
    assert r.status_code == 200, r.text
    return str(r.json()["event_id"])


class Room:
    """A room on A with messages m1…m4, whose history anyone may read."""

    def __init__(self, fed: Pair, visibility: str = "world_readable") -> None:
        self.alice = fed.kit_a.register_user()
        self.room_id = create_room(fed.kit_a, self.alice, preset="public_chat",
                                   initial_state=[{
                                       "type": "m.room.history_visibility", "state_key": "",
                                       "content": {"history_visibility": visibility}}])
        self.messages = [send_event(fed.kit_a, self.alice, self.room_id,
                                    {"msgtype": "m.text", "body": f"m{i}"})
                         for i in range(1, 5)]


@pytest.fixture(scope="module")
def fed(pair: Pair) -> Pair:
    """A serves, B asks."""
    return pair


@pytest.fixture(scope="module")
def world(fed: Pair) -> Room:
    return Room(fed)


def check_pdu(fed: Pair, pdu: dict[str, Any], event_id: str) -> None:
    """The PDU is A's event in federation format (no ``event_id``), with this ID
    and A's signature."""
    assert "event_id" not in pdu
    assert compute_event_id(pdu, V12) == event_id
    assert check_content_hash(pdu)
    verify_json(redact(pdu, V12), fed.a.name, verify_key_of(fed.a.signing_key()))


def test_event_in_federation_format(fed: Pair, world: Room) -> None:
    body = ok(get(fed, f"{F1}/event/{q(world.messages[0])}"))
    assert body["origin"] == fed.a.name
    assert isinstance(body["origin_server_ts"], int)
    [pdu] = body["pdus"]
    check_pdu(fed, pdu, world.messages[0])
    assert pdu["content"]["body"] == "m1"
    assert pdu["room_id"] == world.room_id


def test_state_and_state_ids(fed: Pair, world: Room) -> None:
    at = world.messages[1]
    ids = ok(get(fed, f"{F1}/state_ids/{q(world.room_id)}?event_id={q(at)}"))
    full = ok(get(fed, f"{F1}/state/{q(world.room_id)}?event_id={q(at)}"))
    pdu_ids = sorted(compute_event_id(p, V12) for p in full["pdus"])
    assert pdu_ids == sorted(ids["pdu_ids"])
    chain_ids = sorted(compute_event_id(p, V12) for p in full["auth_chain"])
    assert chain_ids == sorted(ids["auth_chain_ids"])
    types = sorted(p["type"] for p in full["pdus"])
    assert types == sorted(["m.room.create", "m.room.member", "m.room.power_levels",
                            "m.room.join_rules", "m.room.history_visibility"])
    # The state before an event: m2 is not part of it, nor any message.
    assert at not in ids["pdu_ids"] and world.messages[0] not in ids["pdu_ids"]
    # The auth chain is closed: every auth event of a state event or chain event is in it.
    everything = {compute_event_id(p, V12): p for p in full["pdus"] + full["auth_chain"]}
    for pdu in everything.values():
        for auth_id in auth_event_ids(pdu):
            assert auth_id in ids["auth_chain_ids"]


def test_state_before_a_state_change(fed: Pair) -> None:
    room = Room(fed)
    topic = set_state(fed, room.alice, room.room_id, "m.room.topic", {"topic": "t"})
    after = send_event(fed.kit_a, room.alice, room.room_id)
    before = ok(get(fed, f"{F1}/state_ids/{q(room.room_id)}?event_id={q(topic)}"))
    assert topic not in before["pdu_ids"]
    later = ok(get(fed, f"{F1}/state_ids/{q(room.room_id)}?event_id={q(after)}"))
    assert topic in later["pdu_ids"]


def test_event_auth(fed: Pair, world: Room) -> None:
    at = world.messages[2]
    chain = ok(get(fed, f"{F1}/event_auth/{q(world.room_id)}/{q(at)}"))["auth_chain"]
    ids = {compute_event_id(p, V12) for p in chain}
    event = ok(get(fed, f"{F1}/event/{q(at)}"))["pdus"][0]
    assert set(auth_event_ids(event)) <= ids
    assert at not in ids
    # Room version 12: the create event is named by the room ID, not an auth event.
    assert {p["type"] for p in chain} >= {"m.room.member", "m.room.power_levels"}


def test_backfill_newest_first(fed: Pair, world: Room) -> None:
    m1, m2, m3, m4 = world.messages
    body = ok(get(fed, f"{F1}/backfill/{q(world.room_id)}?v={q(m4)}&limit=3"))
    assert body["origin"] == fed.a.name
    assert [compute_event_id(p, V12) for p in body["pdus"]] == [m4, m3, m2]
    depths = [p["depth"] for p in body["pdus"]]
    assert depths == sorted(depths, reverse=True)
    # Everything back to the event that made the history world-readable: what came
    # before it was under the default, "shared", which only members' servers may read.
    whole = ok(get(fed, f"{F1}/backfill/{q(world.room_id)}?v={q(m2)}&limit=1000"))["pdus"]
    assert [p["type"] for p in whole] == ["m.room.message"] * 2 + [
        "m.room.history_visibility"]
    ids = [compute_event_id(p, V12) for p in whole]
    assert ids[:2] == [m2, m1]
    for i, pdu in enumerate(whole):
        assert all(ids.index(p) > i for p in prev_event_ids(pdu) if p in ids)
    # Two starting points: their common history once.
    both = ok(get(fed, f"{F1}/backfill/{q(world.room_id)}?v={q(m2)}&v={q(m4)}&limit=4"))
    assert [compute_event_id(p, V12) for p in both["pdus"]] == [m4, m3, m2, m1]


def test_get_missing_events(fed: Pair, world: Room) -> None:
    m1, m2, m3, m4 = world.messages
    path = f"{F1}/get_missing_events/{q(world.room_id)}"

    def missing(body: dict[str, Any]) -> list[str]:
        r = from_b(fed, "POST", path, body)
        return [compute_event_id(p, V12) for p in ok(r)["events"]]

    assert missing({"earliest_events": [m1], "latest_events": [m4]}) == [m2, m3]
    assert missing({"earliest_events": [m1], "latest_events": [m4], "limit": 1}) == [m3]
    assert missing({"earliest_events": [m3], "latest_events": [m4]}) == []
    m2_depth = ok(get(fed, f"{F1}/event/{q(m2)}"))["pdus"][0]["depth"]
    assert missing({"earliest_events": [], "latest_events": [m4],
                    "min_depth": m2_depth}) == [m2, m3]


def test_timestamp_to_event(fed: Pair, world: Room) -> None:
    room = q(world.room_id)
    # The first event B may see: the one that made the history world-readable.
    first = ok(get(fed, f"{F1}/timestamp_to_event/{room}?ts=0&dir=f"))
    earliest = ok(get(fed, f"{F1}/event/{q(first['event_id'])}"))["pdus"][0]
    assert earliest["type"] == "m.room.history_visibility"
    assert first["origin_server_ts"] == earliest["origin_server_ts"]
    last = ok(get(fed, f"{F1}/timestamp_to_event/{room}?ts={2**52}&dir=b"))
    latest = ok(get(fed, f"{F1}/event/{q(last['event_id'])}"))["pdus"][0]
    assert latest["origin_server_ts"] == last["origin_server_ts"]
    assert_error(get(fed, f"{F1}/timestamp_to_event/{room}?ts=0&dir=b"), 404, "M_NOT_FOUND")


@pytest.mark.parametrize("visibility", ["shared", "joined", "invited"])
def test_a_server_without_members_is_refused(fed: Pair, visibility: str) -> None:
    room = Room(fed, visibility)
    r_id, m1, m4 = q(room.room_id), q(room.messages[0]), q(room.messages[3])
    for path in (f"{F1}/event/{m4}", f"{F1}/state/{r_id}?event_id={m4}",
                 f"{F1}/state_ids/{r_id}?event_id={m4}", f"{F1}/event_auth/{r_id}/{m4}",
                 f"{F1}/backfill/{r_id}?v={m4}&limit=10",
                 f"{F1}/timestamp_to_event/{r_id}?ts=0&dir=f"):
        assert_error(get(fed, path), 403, "M_FORBIDDEN")
    r = from_b(fed, "POST", f"{F1}/get_missing_events/{r_id}",
               {"earliest_events": [room.messages[0]], "latest_events": [room.messages[3]]})
    assert_error(r, 403, "M_FORBIDDEN")
    assert m1


def test_history_readable_only_while_world_readable(fed: Pair) -> None:
    room = Room(fed)
    change = set_state(fed, room.alice, room.room_id, "m.room.history_visibility",
                       {"history_visibility": "joined"})
    hidden = send_event(fed.kit_a, room.alice, room.room_id,
                        {"msgtype": "m.text", "body": "members only"})
    ok(get(fed, f"{F1}/event/{q(room.messages[3])}"))
    ok(get(fed, f"{F1}/event/{q(change)}"))  # the change itself: the value before allows
    assert_error(get(fed, f"{F1}/event/{q(hidden)}"), 403, "M_FORBIDDEN")
    assert_error(get(fed, f"{F1}/state_ids/{q(room.room_id)}?event_id={q(hidden)}"),
                 403, "M_FORBIDDEN")
    # Backfill from the hidden event leaves it out (it counts towards the limit) and
    # serves what came before.
    pdus = ok(get(fed, f"{F1}/backfill/{q(room.room_id)}?v={q(hidden)}&limit=3"))["pdus"]
    assert [compute_event_id(p, V12) for p in pdus] == [change, room.messages[3]]
    events = ok(from_b(fed, "POST", f"{F1}/get_missing_events/{q(room.room_id)}",
                       {"earliest_events": [room.messages[2]], "latest_events": [hidden],
                        "limit": 5}))["events"]
    assert [compute_event_id(p, V12) for p in events] == [room.messages[3], change]
    last = ok(get(fed, f"{F1}/timestamp_to_event/{q(room.room_id)}?ts={2**52}&dir=b"))
    assert last["event_id"] == change


def test_erased_senders_are_served_redacted(fed: Pair) -> None:
    room = Room(fed)
    carol = fed.kit_a.register_user()
    r = fed.kit_a.request("POST", f"{V3}/join/{q(room.room_id)}", carol.access_token,
                           json={})
    assert r.status_code == 200, r.text
    said = send_event(fed.kit_a, carol, room.room_id,
                      {"msgtype": "m.text", "body": unique("secret")})
    assert ok(get(fed, f"{F1}/event/{q(said)}"))["pdus"][0]["content"]["body"]
    r = fed.kit_a.request("POST", f"{V3}/account/deactivate", carol.access_token, json={
        "erase": True, "auth": {"type": "m.login.password", "password": carol.password,
                                "identifier": {"type": "m.id.user", "user": carol.user_id}}})
    assert r.status_code == 200, r.text
    assert ok(get(fed, f"{F1}/event/{q(said)}"))["pdus"][0]["content"] == {}
    pdus = ok(get(fed, f"{F1}/backfill/{q(room.room_id)}?v={q(said)}&limit=1"))["pdus"]
    assert pdus[0]["content"] == {}


def test_unknown_rooms_and_events(fed: Pair, world: Room) -> None:
    other = Room(fed)
    room, nope_room = q(world.room_id), q(f"!nope:{fed.a.name}")
    nope = q("$" + "A" * 43)
    elsewhere = q(other.messages[0])
    for path in (f"{F1}/event/{nope}", f"{F1}/state/{room}?event_id={nope}",
                 f"{F1}/state_ids/{room}?event_id={elsewhere}",
                 f"{F1}/event_auth/{room}/{elsewhere}",
                 f"{F1}/backfill/{room}?v={nope}&limit=10",
                 f"{F1}/backfill/{room}?v={elsewhere}&limit=10",
                 f"{F1}/state_ids/{nope_room}?event_id={q(world.messages[0])}",
                 f"{F1}/backfill/{nope_room}?v={nope}&limit=1",
                 f"{F1}/timestamp_to_event/{nope_room}?ts=0&dir=f",
                 f"{F1}/hierarchy/{nope_room}", f"{F1}/event/not-an-event-id"):
        assert_error(get(fed, path), 404, "M_NOT_FOUND")
    r = from_b(fed, "POST", f"{F1}/get_missing_events/{room}",
               {"earliest_events": [], "latest_events": [other.messages[0]]})
    assert_error(r, 404, "M_NOT_FOUND")
    assert_error(get(fed, f"{F1}/state_ids/not-a-room?event_id={nope}"),
                 400, "M_INVALID_PARAM")


@pytest.mark.parametrize(("path", "errcode"), [
    ("/backfill/{room}?v={event}&limit=-1", "M_INVALID_PARAM"),
    ("/backfill/{room}?v={event}&limit=ten", "M_INVALID_PARAM"),
    ("/backfill/{room}?v={event}", "M_MISSING_PARAM"),
    ("/backfill/{room}?limit=10", "M_MISSING_PARAM"),
    ("/state/{room}", "M_MISSING_PARAM"),
    ("/state_ids/{room}", "M_MISSING_PARAM"),
    ("/timestamp_to_event/{room}?dir=f", "M_MISSING_PARAM"),
    ("/timestamp_to_event/{room}?ts=0", "M_MISSING_PARAM"),
    ("/timestamp_to_event/{room}?ts=0&dir=x", "M_INVALID_PARAM"),
    ("/timestamp_to_event/{room}?ts=99999999999999999999&dir=f", "M_INVALID_PARAM"),
    ("/hierarchy/{room}?suggested_only=yes", "M_INVALID_PARAM"),
])
def test_bad_parameters(fed: Pair, world: Room, path: str,
                        errcode: str) -> None:
    url = F1 + path.format(room=q(world.room_id), event=q(world.messages[0]))
    assert_error(get(fed, url), 400, errcode)


@pytest.mark.parametrize(("body", "errcode"), [
    ({"latest_events": []}, "M_MISSING_PARAM"),
    ({"earliest_events": []}, "M_MISSING_PARAM"),
    ({"earliest_events": [], "latest_events": [], "limit": -1}, "M_INVALID_PARAM"),
    ({"earliest_events": [], "latest_events": [], "limit": 2**60}, "M_INVALID_PARAM"),
    ({"earliest_events": [], "latest_events": ["$x"] * 101}, "M_INVALID_PARAM"),
    ({"earliest_events": [], "latest_events": "$x"}, "M_BAD_JSON"),
    ({"earliest_events": [], "latest_events": [], "min_depth": "1"}, "M_BAD_JSON"),
])
def test_bad_missing_events_bodies(fed: Pair, world: Room, body: dict[str, Any],
                                   errcode: str) -> None:
    r = from_b(fed, "POST", f"{F1}/get_missing_events/{q(world.room_id)}", body)
    assert_error(r, 400, errcode)


def test_a_huge_limit_is_capped(fed: Pair, world: Room) -> None:
    r = get(fed, f"{F1}/backfill/{q(world.room_id)}?v={q(world.messages[3])}"
            f"&limit={2**70}")
    assert len(ok(r)["pdus"]) <= 100


def test_server_acl_denies_the_origin(fed: Pair) -> None:
    room = Room(fed)
    r_id, m4 = q(room.room_id), q(room.messages[3])
    paths = (f"{F1}/event/{m4}", f"{F1}/state/{r_id}?event_id={m4}",
             f"{F1}/state_ids/{r_id}?event_id={m4}", f"{F1}/event_auth/{r_id}/{m4}",
             f"{F1}/backfill/{r_id}?v={m4}&limit=10",
             f"{F1}/timestamp_to_event/{r_id}?ts=0&dir=f", f"{F1}/hierarchy/{r_id}")
    b_host = fed.b.name.split(":")[0].upper()  # without the port, in another case
    set_state(fed, room.alice, room.room_id, "m.room.server_acl",
              {"allow": ["*"], "deny": [b_host]})
    for path in paths:
        assert_error(get(fed, path), 403, "M_FORBIDDEN")
    r = from_b(fed, "POST", f"{F1}/get_missing_events/{r_id}",
               {"earliest_events": [], "latest_events": [room.messages[3]]})
    assert_error(r, 403, "M_FORBIDDEN")
    # An allow list naming B lets it back in; one naming others only does not.
    set_state(fed, room.alice, room.room_id, "m.room.server_acl",
              {"allow": [fed.a.name.split(":")[0]]})
    assert_error(get(fed, paths[0]), 403, "M_FORBIDDEN")
    set_state(fed, room.alice, room.room_id, "m.room.server_acl",
              {"allow": ["local*"], "allow_ip_literals": False})
    for path in paths:
        ok(get(fed, path))


def test_blocked_rooms_refuse_federation(fed: Pair) -> None:
    room = Room(fed)
    r_id, m4 = q(room.room_id), q(room.messages[3])
    ok(get(fed, f"{F1}/event/{m4}"))
    r = fed.kit_a.request("PUT", f"/_synapse/admin/v1/rooms/{r_id}/block",
                           fed.admin_a.access_token, json={"block": True})
    assert r.status_code == 200, r.text
    for path in (f"{F1}/event/{m4}", f"{F1}/state_ids/{r_id}?event_id={m4}",
                 f"{F1}/backfill/{r_id}?v={m4}&limit=10", f"{F1}/hierarchy/{r_id}"):
        assert_error(get(fed, path), 403, "M_FORBIDDEN")


def test_hierarchy(fed: Pair) -> None:
    alice = fed.kit_a.register_user()
    space = create_room(fed.kit_a, alice, preset="public_chat", name="Space",
                        creation_content={"type": "m.space"})
    public = create_room(fed.kit_a, alice, preset="public_chat", name="Public")
    private = create_room(fed.kit_a, alice, preset="private_chat", name="Private")
    readable = create_room(fed.kit_a, alice, preset="private_chat", initial_state=[{
        "type": "m.room.history_visibility", "state_key": "",
        "content": {"history_visibility": "world_readable"}}])
    restricted = create_room(fed.kit_a, alice, initial_state=[{
        "type": "m.room.join_rules", "state_key": "", "content": {
            "join_rule": "restricted",
            "allow": [{"type": "m.room_membership", "room_id": space}]}}])
    unknown = f"!{unique('gone')}:{fed.b.name}"
    for child, suggested in ((public, True), (private, False), (readable, False),
                             (restricted, False), (unknown, True)):
        set_state(fed, alice, space, "m.space.child",
                  {"via": [fed.a.name], "suggested": suggested}, child)
    body = ok(get(fed, f"{F1}/hierarchy/{q(space)}"))
    assert body["room"]["room_id"] == space and body["room"]["room_type"] == "m.space"
    assert {c["state_key"] for c in body["room"]["children_state"]} == {
        public, private, readable, restricted, unknown}
    assert all(isinstance(c["origin_server_ts"], int) for c in body["room"]["children_state"])
    children = {c["room_id"]: c for c in body["children"]}
    assert set(children) == {public, readable}
    assert children[public]["name"] == "Public" and children[readable]["world_readable"]
    # Rooms it could not join are named; rooms A does not have are left out.
    assert sorted(body["inaccessible_children"]) == sorted([private, restricted])
    suggested_only = ok(get(fed, f"{F1}/hierarchy/{q(space)}?suggested_only=true"))
    assert [c["room_id"] for c in suggested_only["children"]] == [public]
    assert_error(get(fed, f"{F1}/hierarchy/{q(private)}"), 404, "M_NOT_FOUND")
    ok(get(fed, f"{F1}/hierarchy/{q(public)}"))
    # A child whose ACL denies B, or that is blocked here, is named but not described.
    set_state(fed, alice, public, "m.room.server_acl", {"allow": ["*"],
                                                      "deny": ["localhost"]})
    r = fed.kit_a.request("PUT", f"/_synapse/admin/v1/rooms/{q(readable)}/block",
                          fed.admin_a.access_token, json={"block": True})
    assert r.status_code == 200, r.text
    body = ok(get(fed, f"{F1}/hierarchy/{q(space)}"))
    assert body["children"] == []
    assert sorted(body["inaccessible_children"]) == sorted([private, restricted, public,
                                                            readable])


def test_requests_must_be_signed(fed: Pair, world: Room) -> None:
    r = httpx.get(fed.a.federation_url + f"{F1}/event/{q(world.messages[0])}",
                  verify=ssl.create_default_context(cafile=fed.a.ca_path))
    assert_error(r, 401, "M_UNAUTHORIZED")


# -- federation media ---------------------------------------------------------------------

def multipart(r: httpx.Response) -> tuple[dict[str, Any], dict[str, str], bytes]:
    """The JSON part, and the file part's headers and bytes, of a spec multipart answer."""
    assert r.status_code == 200, r.text
    content_type = r.headers["content-type"]
    assert content_type.startswith("multipart/mixed; boundary=")
    boundary = content_type.split("boundary=", 1)[1].encode()
    assert int(r.headers["content-length"]) == len(r.content)
    first, second, end = r.content.split(b"--" + boundary)[1:]
    assert end == b"--\r\n"
    head, _, json_part = first.partition(b"\r\n\r\n")
    assert head == b"\r\nContent-Type: application/json"
    file_head, _, data = second.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in file_head.decode().strip().split("\r\n"))
    assert data.endswith(b"\r\n")
    return json.loads(json_part), {k.lower(): v for k, v in headers.items()}, data[:-2]


def test_media_download_and_thumbnail(fed: Pair) -> None:
    alice = fed.kit_a.register_user()
    image = png(64, 48)
    server, media_id = upload(fed.kit_a, alice, image, filename="cat.png")
    assert server == fed.a.name
    metadata, headers, data = multipart(get(fed, f"{F1}/media/download/{media_id}"))
    assert metadata == {} and data == image
    assert headers["content-type"] == "image/png"
    assert headers["content-disposition"] == "inline; filename=cat.png"
    _, headers, data = multipart(get(fed, f"{F1}/media/thumbnail/{media_id}"
                                          "?width=32&height=32&method=scale"))
    assert headers["content-type"] in ("image/png", "image/jpeg")
    assert max(Image.open(io.BytesIO(data)).size) <= 64
    # A file that is not an image: an attachment, and no thumbnail.
    _, text_id = upload(fed.kit_a, alice, b"<b>hi</b>", content_type="text/html")
    _, headers, data = multipart(get(fed, f"{F1}/media/download/{text_id}"))
    assert data == b"<b>hi</b>" and headers["content-disposition"] == "attachment"
    assert_error(get(fed, f"{F1}/media/thumbnail/{text_id}?width=32&height=32"),
                 400, "M_UNKNOWN")


def test_media_errors(fed: Pair) -> None:
    alice = fed.kit_a.register_user()
    _, media_id = upload(fed.kit_a, alice, png(8, 8))
    assert_error(get(fed, f"{F1}/media/download/{unique('nope')}"), 404, "M_NOT_FOUND")
    assert_error(get(fed, f"{F1}/media/download/..%2Fetc"), 404, "M_NOT_FOUND")
    assert_error(get(fed, f"{F1}/media/thumbnail/{media_id}?width=32"),
                 400, "M_MISSING_PARAM")
    assert_error(get(fed, f"{F1}/media/thumbnail/{media_id}?width=0&height=32"),
                 400, "M_INVALID_PARAM")
    assert_error(get(fed, f"{F1}/media/thumbnail/{media_id}?width=8&height=8&method=x"),
                 400, "M_INVALID_PARAM")
    r = fed.kit_a.request("POST", f"/_synapse/admin/v1/media/quarantine/{fed.a.name}/"
                          f"{media_id}", fed.admin_a.access_token, json={})
    assert r.status_code == 200, r.text
    assert_error(get(fed, f"{F1}/media/download/{media_id}"), 404, "M_NOT_FOUND")
    r = httpx.get(fed.a.federation_url + f"{F1}/media/download/{media_id}",
                  verify=ssl.create_default_context(cafile=fed.a.ca_path))
    assert_error(r, 401, "M_UNAUTHORIZED")


@pytest.mark.parametrize("path", [
    "/event/{garbage}", "/state/{room}?event_id={garbage}",
    "/state_ids/{room}?event_id={garbage}", "/event_auth/{room}/{garbage}",
    "/backfill/{room}?v={garbage}&v=&limit=5", "/backfill/{garbage}?v={garbage}&limit=5",
    "/timestamp_to_event/{garbage}?ts=0&dir=f", "/hierarchy/{garbage}",
    "/media/download/{garbage}", "/media/thumbnail/{garbage}?width=1&height=1",
])
def test_garbage_identifiers(fed: Pair, world: Room, path: str) -> None:
    """Identifiers of any shape are a 4xx, never a 500 (the fixture checks the log)."""
    for garbage in ("%00", "%F0%9F%92%A9", "x" * 3000, "%24%3A", "!%3A", "..%2F..%2F"):
        url = F1 + path.format(room=q(world.room_id), garbage=garbage)
        r = get(fed, url)
        assert r.status_code in (400, 404), (url, r.status_code, r.text)
