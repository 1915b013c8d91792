"""Application services beyond room events: ephemeral events and to-device messages in
transactions, user and alias queries, third-party lookups, the per-network room
directory, admin pause/resume and the Synapse user object's ``appservice_id``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.test_appservices import _env, _health
from tests.api.test_keys import CLAIM, UPLOAD, Crypto, setup_device
from tests.appservice_kit import FakeAppService, Registration, new_registration
from tests.kit import Kit, User, assert_error, create_room, send_event, unique, wait_until
from tests.server import GliaProcess

PROTOCOL = {"user_fields": ["nick"], "location_fields": ["channel"], "icon": "mxc://x/y",
            "field_types": {}, "instances": [{"desc": "Libera", "network_id": "libera",
                                              "fields": {}}]}


@pytest.fixture(scope="module")
def service(new_database_url: Callable[[], str]
            ) -> Iterator[tuple[Kit, Registration, FakeAppService]]:
    reg = new_registration("irc", protocols=["irc"], receive_ephemeral=True,
                           **{"org.matrix.msc2409.push_to_device": True,
                              "org.matrix.msc3202": True})
    fake = FakeAppService(reg)
    fake.answers["/_matrix/app/v1/thirdparty/protocol/irc"] = (200, PROTOCOL)
    fake.answers["/_matrix/app/v1/thirdparty/location/irc"] = (
        200, [{"alias": "#irc_x:localhost", "protocol": "irc", "fields": {}}])
    server = GliaProcess(new_database_url(), _env(reg)).start()
    kit = Kit(server.url)
    yield kit, reg, fake
    kit.close()
    server.stop()
    fake.close()
    assert "Traceback" not in server.log(), server.log()[-3000:]


def _register_puppet(kit: Kit, reg: Registration, name: str) -> str:
    r = kit.request("POST", "/_matrix/client/v3/register", reg.as_token, json={
        "type": "m.login.application_service", "username": f"_irc_{name}",
        "inhibit_login": True})
    assert r.status_code == 200, r.text
    return str(r.json()["user_id"])


def _of_kind(fake: FakeAppService, key: str) -> list[dict[str, Any]]:
    return [item for txn, body in fake.transactions if not txn.startswith("failed:")
            for item in body.get(key, [])]


def _room_with_puppet(kit: Kit, reg: Registration, alice: User) -> tuple[str, str]:
    room = create_room(kit, alice)
    puppet = _register_puppet(kit, reg, unique())
    kit.request("POST", f"/_matrix/client/v3/rooms/{quote(room)}/invite",
                alice.access_token, json={"user_id": puppet})
    r = kit.request("POST", f"/_matrix/client/v3/join/{quote(room)}?user_id={quote(puppet)}",
                    reg.as_token)
    assert r.status_code == 200, r.text
    return room, puppet


def test_ephemeral_and_to_device(service: tuple[Kit, Registration, FakeAppService]) -> None:
    kit, reg, fake = service
    alice = kit.register_user()
    room, puppet = _room_with_puppet(kit, reg, alice)
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{quote(room)}/typing/"
                    f"{quote(alice.user_id)}", alice.access_token,
                    json={"typing": True, "timeout": 10000})
    assert r.status_code == 200, r.text
    wait_until(lambda: any(e["type"] == "m.typing" and e["room_id"] == room
                           and alice.user_id in e["content"]["user_ids"]
                           for e in _of_kind(fake, "ephemeral")), what="typing")
    event_id = send_event(kit, alice, room)
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{quote(room)}/receipt/m.read/"
                    f"{quote(event_id)}", alice.access_token, json={})
    assert r.status_code == 200, r.text
    wait_until(lambda: any(e["type"] == "m.receipt" and event_id in e["content"]
                           for e in _of_kind(fake, "ephemeral")), what="receipt")
    r = kit.request("PUT", f"/_matrix/client/v3/presence/{quote(alice.user_id)}/status",
                    alice.access_token, json={"presence": "unavailable", "status_msg": "afk"})
    assert r.status_code == 200, r.text
    wait_until(lambda: any(e["type"] == "m.presence" and e["sender"] == alice.user_id
                           and e["content"]["presence"] == "unavailable"
                           for e in _of_kind(fake, "ephemeral")), what="presence")
    # Both names: the stable one and MSC2409's, which mautrix reads.
    assert any(body.get("de.sorunome.msc2409.ephemeral") for _, body in fake.transactions)
    # To-device messages to a puppet's device.
    r = kit.request("POST", "/_matrix/client/v3/login", reg.as_token, json={
        "type": "m.login.application_service", "device_id": "PUPPETDEV",
        "identifier": {"type": "m.id.user", "user": puppet}})
    assert r.status_code == 200, r.text
    r = kit.request("PUT", f"/_matrix/client/v3/sendToDevice/m.test/{unique()}",
                    alice.access_token,
                    json={"messages": {puppet: {"PUPPETDEV": {"secret": "hi"}}}})
    assert r.status_code == 200, r.text
    wait_until(lambda: any(m["to_user_id"] == puppet and m["to_device_id"] == "PUPPETDEV"
                           and m["content"] == {"secret": "hi"}
                           and m["sender"] == alice.user_id
                           for m in _of_kind(fake, "de.sorunome.msc2409.to_device")),
               what="to-device")
    # Device-list changes of users sharing a room with its users (MSC3202).
    setup_device(kit, alice)
    wait_until(lambda: any(alice.user_id in body.get("org.matrix.msc3202.device_lists",
                                                     {}).get("changed", [])
                           for _, body in fake.transactions), what="device lists")
    # Masquerading as the puppet's device.
    r = kit.request("GET", f"/_matrix/client/v3/account/whoami?user_id={quote(puppet)}"
                    "&device_id=PUPPETDEV", reg.as_token)
    assert (r.json()["user_id"], r.json()["device_id"]) == (puppet, "PUPPETDEV"), r.text


def test_user_and_alias_queries(service: tuple[Kit, Registration, FakeAppService]) -> None:
    kit, reg, fake = service
    alice = kit.register_user()
    # An unknown namespaced user: the service is asked, creates it, and it is found.
    name = unique()

    def create_user() -> tuple[int, dict[str, Any]]:
        _register_puppet(kit, reg, name)
        return 200, {}

    fake.answers[f"/_matrix/app/v1/users/%40_irc_{name}%3Alocalhost"] = create_user
    r = kit.request("GET", f"/_matrix/client/v3/profile/@_irc_{name}:localhost",
                    alice.access_token)
    assert r.status_code == 200 and r.json()["displayname"] == f"_irc_{name}", r.text
    # A service that answers 404 leaves the user unknown.
    assert_error(kit.request("GET", f"/_matrix/client/v3/profile/@_irc_{unique()}:localhost",
                             alice.access_token), 404, "M_NOT_FOUND")
    # An unknown alias in its namespace: the service is asked and creates it.
    alias = f"#_irc_{unique()}:localhost"
    room = create_room(kit, alice)

    def create_alias() -> tuple[int, dict[str, Any]]:
        r = kit.request("PUT", f"/_matrix/client/v3/directory/room/{quote(alias)}",
                        reg.as_token, json={"room_id": room})
        assert r.status_code == 200, r.text
        return 200, {}

    fake.answers[f"/_matrix/app/v1/rooms/{quote(alias, safe='')}"] = create_alias
    r = kit.request("GET", f"/_matrix/client/v3/directory/room/{quote(alias)}",
                    alice.access_token)
    assert r.status_code == 200 and r.json()["room_id"] == room, r.text
    assert_error(kit.request("GET", f"/_matrix/client/v3/directory/room/"
                             f"{quote('#_irc_' + unique() + ':localhost')}",
                             alice.access_token), 404, "M_NOT_FOUND")
    # Outside its alias namespace the service is refused.
    assert_error(kit.request("PUT", f"/_matrix/client/v3/directory/room/"
                             f"{quote('#elsewhere_' + unique() + ':localhost')}",
                             reg.as_token, json={"room_id": room}), 400, "M_EXCLUSIVE")



@pytest.mark.parametrize("action", ["join", "knock"])
def test_join_or_knock_by_alias_asks_the_service(
        service: tuple[Kit, Registration, FakeAppService], action: str) -> None:
    """``/join`` and ``/knock`` by an unknown alias in the service's namespace resolve it
    as ``GET /directory/room`` does: the service is asked, makes the portal room and its
    alias, and the user then joins (or knocks on) that room."""
    kit, reg, fake = service
    alice = kit.register_user()
    localpart = f"_irc_{unique()}"
    alias = f"#{localpart}:localhost"
    query = f"/_matrix/app/v1/rooms/{quote(alias, safe='')}"
    made: list[str] = []

    def create_portal() -> tuple[int, dict[str, Any]]:
        rule = {"type": "m.room.join_rules", "state_key": "",
                "content": {"join_rule": "public" if action == "join" else "knock"}}
        r = kit.request("POST", "/_matrix/client/v3/createRoom", reg.as_token,
                        json={"room_alias_name": localpart, "initial_state": [rule]})
        assert r.status_code == 200, r.text
        made.append(r.json()["room_id"])
        return 200, {}

    fake.answers[query] = create_portal
    r = kit.request("POST", f"/_matrix/client/v3/{action}/{quote(alias)}",
                    alice.access_token, json={})
    assert r.status_code == 200, r.text
    assert made and r.json() == {"room_id": made[0]}
    assert ("GET", query) in fake.requests
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{quote(made[0])}/state/"
                    f"m.room.member/{quote(alice.user_id)}", reg.as_token)
    assert r.status_code == 200 and r.json()["membership"] == action, r.text
    # An alias the service does not make stays unknown.
    missing = f"#_irc_{unique()}:localhost"
    assert_error(kit.request("POST", f"/_matrix/client/v3/{action}/{quote(missing)}",
                             alice.access_token, json={}), 404, "M_NOT_FOUND")
    assert ("GET", f"/_matrix/app/v1/rooms/{quote(missing, safe='')}") in fake.requests


def test_third_party_and_network_directory(
        service: tuple[Kit, Registration, FakeAppService]) -> None:
    kit, reg, _ = service
    alice = kit.register_user()
    r = kit.request("GET", "/_matrix/client/v3/thirdparty/protocols", alice.access_token)
    assert r.status_code == 200, r.text
    instance = r.json()["irc"]["instances"][0]
    assert instance["instance_id"] == "irc|libera" and instance["desc"] == "Libera"
    r = kit.request("GET", "/_matrix/client/v3/thirdparty/protocol/irc", alice.access_token)
    assert r.json()["user_fields"] == ["nick"]
    assert_error(kit.request("GET", "/_matrix/client/v3/thirdparty/protocol/nope",
                             alice.access_token), 404, "M_NOT_FOUND")
    r = kit.request("GET", "/_matrix/client/v3/thirdparty/location/irc?channel=x",
                    alice.access_token)
    assert r.json() == [{"alias": "#irc_x:localhost", "protocol": "irc", "fields": {}}]
    assert kit.request("GET", "/_matrix/client/v3/thirdparty/user/irc",
                       alice.access_token).json() == []
    # The network directory: only the service lists rooms there.
    room = create_room(kit, alice, name="bridged channel")
    path = f"/_matrix/client/v3/directory/list/appservice/libera/{quote(room)}"
    assert_error(kit.request("PUT", path, alice.access_token, json={"visibility": "public"}),
                 403, "M_FORBIDDEN")
    r = kit.request("PUT", path, reg.as_token, json={"visibility": "public"})
    assert r.status_code == 200, r.text

    def listed(query: str) -> list[str]:
        r = kit.request("GET", f"/_matrix/client/v3/publicRooms?{query}", alice.access_token)
        assert r.status_code == 200, r.text
        return [c["room_id"] for c in r.json()["chunk"]]

    assert room in listed("third_party_instance_id=irc%7Clibera")
    assert room not in listed("")
    assert room in listed("include_all_networks=true")
    r = kit.request("POST", "/_matrix/client/v3/publicRooms", alice.access_token,
                    json={"third_party_instance_id": "irc|libera"})
    assert room in [c["room_id"] for c in r.json()["chunk"]]
    assert_error(kit.request("GET", "/_matrix/client/v3/publicRooms?"
                             "third_party_instance_id=nope", alice.access_token),
                 400, "M_INVALID_PARAM")
    assert kit.request("DELETE", path, reg.as_token).status_code == 200
    assert room not in listed("third_party_instance_id=irc%7Clibera")


def test_admin_pause_resume_and_user_object(
        service: tuple[Kit, Registration, FakeAppService]) -> None:
    kit, reg, fake = service
    admin = kit.make_admin()
    alice = kit.register_user()
    room, puppet = _room_with_puppet(kit, reg, alice)
    r = kit.request("GET", f"/_synapse/admin/v2/users/{quote(puppet)}", admin.access_token)
    assert r.json()["appservice_id"] == "irc", r.text
    r = kit.request("GET", f"/_synapse/admin/v2/users/{quote(alice.user_id)}",
                    admin.access_token)
    assert r.json()["appservice_id"] is None
    listed = kit.request("GET", "/_glia/admin/v1/appservices", admin.access_token).json()
    assert [a["id"] for a in listed["appservices"]] == ["irc"] and listed["total"] == 1
    assert kit.request("POST", "/_glia/admin/v1/appservices/irc/pause",
                       admin.access_token).status_code == 200
    assert _health(kit, admin.access_token, "irc")["paused"] is True
    send_event(kit, alice, room, {"msgtype": "m.text", "body": "while paused"})

    def bodies() -> list[str]:
        return [e["content"].get("body") for e in _of_kind(fake, "events")
                if e["type"] == "m.room.message"]

    wait_until(lambda: _health(kit, admin.access_token, "irc")["backlog"] >= 1,
               what="the backlog")
    assert "while paused" not in bodies()
    assert kit.request("POST", "/_glia/admin/v1/appservices/irc/resume",
                       admin.access_token).status_code == 200
    wait_until(lambda: "while paused" in bodies(), what="delivery after resume")
    actions = {e["action"] for e in kit.request(
        "GET", "/_glia/admin/v1/audit_log", admin.access_token).json()["entries"]}
    assert {"appservices.pause", "appservices.resume"} <= actions
    assert_error(kit.request("POST", "/_glia/admin/v1/appservices/nope/pause",
                             admin.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("POST", "/_glia/admin/v1/appservices/irc/pause",
                             alice.access_token), 403, "M_FORBIDDEN")


def _device_lists(fake: FakeAppService, key: str) -> list[str]:
    return [user for txn, body in fake.transactions if not txn.startswith("failed:")
            for user in body.get("org.matrix.msc3202.device_lists", {}).get(key, [])]


def _join(kit: Kit, inviter: User, room: str, user: User) -> None:
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{quote(room)}/invite",
                    inviter.access_token, json={"user_id": user.user_id})
    assert r.status_code == 200, r.text
    r = kit.request("POST", f"/_matrix/client/v3/join/{quote(room)}", user.access_token)
    assert r.status_code == 200, r.text


def _leave(kit: Kit, token: str, room: str, as_user: str | None = None) -> None:
    query = f"?user_id={quote(as_user)}" if as_user else ""
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{quote(room)}/leave{query}", token)
    assert r.status_code == 200, r.text


def test_device_lists_left(service: tuple[Kit, Registration, FakeAppService]) -> None:
    """MSC3202's ``left``: users who no longer share a room with the service's users."""
    kit, reg, fake = service
    alice, carol, dave = kit.register_user(), kit.register_user(), kit.register_user()
    room, puppet = _room_with_puppet(kit, reg, alice)
    _room_with_puppet(kit, reg, carol)  # carol shares a second room with the service
    _join(kit, alice, room, carol)
    _join(kit, alice, room, dave)
    # A user leaving the service's last room with them is out of its sight.
    _leave(kit, alice.access_token, room)
    wait_until(lambda: alice.user_id in _device_lists(fake, "left"), what="alice left")
    # One still sharing another room is not.
    _leave(kit, carol.access_token, room)
    # The service's user leaving takes the room out of its sight, and dave with it.
    _leave(kit, reg.as_token, room, as_user=puppet)
    wait_until(lambda: dave.user_id in _device_lists(fake, "left"), what="dave left")
    assert carol.user_id not in _device_lists(fake, "left")
    assert puppet not in _device_lists(fake, "left")


def test_device_key_counts(service: tuple[Kit, Registration, FakeAppService]) -> None:
    """MSC3202's one-time key counts and unused fallback key types of the service's
    users' devices, under Synapse's names."""
    kit, reg, fake = service
    alice = kit.register_user()
    room, puppet = _room_with_puppet(kit, reg, alice)
    device = unique("DEV").upper()
    r = kit.request("POST", "/_matrix/client/v3/login", reg.as_token, json={
        "type": "m.login.application_service", "device_id": device,
        "identifier": {"type": "m.id.user", "user": puppet}})
    assert r.status_code == 200, r.text
    crypto = Crypto(User(puppet, reg.as_token, device, ""))
    r = kit.request("POST", f"{UPLOAD}?user_id={quote(puppet)}&device_id={device}",
                    reg.as_token, json={
                        "device_keys": crypto.device_keys(), "one_time_keys": crypto.otks(2),
                        "fallback_keys": {"signed_curve25519:fb": crypto.otk(fallback=True)}})
    assert r.status_code == 200, r.text

    def transaction_with(text: str) -> dict[str, Any]:
        send_event(kit, alice, room, {"msgtype": "m.text", "body": text})
        return wait_until(lambda: next(
            (body for txn, body in fake.transactions if not txn.startswith("failed:")
             and any(e["content"].get("body") == text for e in body["events"])), None),
            what=text)

    body = transaction_with(unique("keys"))
    counts = body["org.matrix.msc3202.device_one_time_keys_count"]
    assert counts[puppet][device] == {"signed_curve25519": 2}
    assert body["org.matrix.msc3202.device_one_time_key_counts"] == counts
    unused = body["org.matrix.msc3202.device_unused_fallback_key_types"]
    assert unused[puppet][device] == ["signed_curve25519"]
    assert alice.user_id not in counts and alice.user_id not in unused
    # Claims use up the one-time keys, then the fallback key.
    for _ in range(3):
        r = kit.request("POST", CLAIM, alice.access_token, json={
            "one_time_keys": {puppet: {device: "signed_curve25519"}}})
        assert r.json()["one_time_keys"][puppet][device], r.text
    body = transaction_with(unique("claimed"))
    counts = body["org.matrix.msc3202.device_one_time_keys_count"]
    assert counts[puppet][device] == {"signed_curve25519": 0}
    assert body["org.matrix.msc3202.device_unused_fallback_key_types"][puppet][device] == []
