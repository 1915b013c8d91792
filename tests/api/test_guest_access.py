"""Guest access (the spec's Guest Access module) on a server with
``registration.allow_guest_access``: ``/register?kind=guest``, a guest's token reaching
only the endpoints the spec allows guests, ``m.room.guest_access`` deciding whether a
guest may join (and removing guests when it stops allowing them), and a guest upgraded
to a full account by registering with its token. Off by default (test_registration)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.kit import PASSWORD, Kit, User, assert_error, create_room, send_event, wait_until
from tests.server import GliaProcess

V3 = "/_matrix/client/v3"


@pytest.fixture(scope="module")
def gkit(new_database_url: Callable[[], str]) -> Iterator[Kit]:
    server = GliaProcess(new_database_url(), {
        "GLIA_REGISTRATION__ALLOW_GUEST_ACCESS": "true",
        "GLIA_REGISTRATION__ENABLED": "true"}).start()
    kit = Kit(server.url)
    yield kit
    kit.close()
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-5000:]


def register_guest(kit: Kit, **body: Any) -> User:
    r = kit.http.post(f"{V3}/register", params={"kind": "guest"}, json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    return User(data["user_id"], data["access_token"], data["device_id"], "")


def test_guest_registration(gkit: Kit) -> None:
    guest = register_guest(gkit, initial_device_display_name="Guest browser")
    localpart = guest.user_id[1:].split(":")[0]
    assert localpart.isdigit()
    r = gkit.request("GET", f"{V3}/account/whoami", guest.access_token)
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": guest.user_id, "device_id": guest.device_id,
                        "is_guest": True}
    r = gkit.request("GET", f"{V3}/devices/{guest.device_id}", guest.access_token)
    assert r.json()["display_name"] == "Guest browser"
    # Guests have no password to log in with.
    r = gkit.http.post(f"{V3}/login", json={
        "type": "m.login.password", "password": "",
        "identifier": {"type": "m.id.user", "user": guest.user_id}})
    assert r.status_code in (400, 403), r.text


def test_guest_tokens_reach_only_the_guest_endpoints(gkit: Kit) -> None:
    guest = register_guest(gkit)
    token = guest.access_token
    allowed = [("GET", f"{V3}/sync", None), ("GET", f"{V3}/account/whoami", None),
               ("GET", f"{V3}/devices", None), ("GET", f"{V3}/capabilities", None),
               ("PUT", f"{V3}/profile/{quote(guest.user_id)}/displayname",
                {"displayname": "Visitor"}),
               ("POST", f"{V3}/keys/query", {"device_keys": {}})]
    for method, path, body in allowed:
        r = gkit.request(method, path, token, json=body)
        assert r.status_code == 200, (path, r.text)
    refused = [("POST", f"{V3}/createRoom", {}), ("GET", f"{V3}/joined_rooms", None),
               ("GET", f"{V3}/pushers", None), ("POST", f"{V3}/publicRooms", {}),
               ("PUT", f"{V3}/profile/{quote(guest.user_id)}/avatar_url",
                {"avatar_url": "mxc://x/y"}),
               ("PUT", f"{V3}/user/{quote(guest.user_id)}/account_data/x", {}),
               ("POST", f"{V3}/logout/all", {}), ("GET", f"{V3}/room_keys/version", None)]
    for method, path, body in refused:
        assert_error(gkit.request(method, path, token, json=body), 403,
                     "M_GUEST_ACCESS_FORBIDDEN")


def test_guest_access_event_decides_joins(gkit: Kit) -> None:
    owner = gkit.register_user()
    guest = register_guest(gkit)
    closed = create_room(gkit, owner, preset="public_chat")
    set_guest_access(gkit, owner, closed, "forbidden")
    r = gkit.request("POST", f"{V3}/rooms/{closed}/join", guest.access_token, json={})
    assert_error(r, 403, "M_FORBIDDEN")
    open_room = create_room(gkit, owner, preset="public_chat")
    set_guest_access(gkit, owner, open_room, "can_join")
    r = gkit.request("POST", f"{V3}/join/{open_room}", guest.access_token, json={})
    assert r.status_code == 200, r.text
    send_event(gkit, guest, open_room, {"msgtype": "m.text", "body": "hello as a guest"})
    r = gkit.request("GET", f"{V3}/rooms/{open_room}/messages", guest.access_token,
                     params={"dir": "b"})
    assert r.status_code == 200, r.text

    # Guests shut out: the server makes the guests in the room leave.
    set_guest_access(gkit, owner, open_room, "forbidden")

    def guest_left() -> bool:
        r = gkit.request("GET", f"{V3}/rooms/{open_room}/state/m.room.member/"
                         f"{quote(guest.user_id)}", owner.access_token)
        return r.status_code == 200 and r.json()["membership"] == "leave"

    wait_until(guest_left, what="the guest's leave")
    # The owner (no guest) stays.
    r = gkit.request("GET", f"{V3}/rooms/{open_room}/state/m.room.member/"
                     f"{quote(owner.user_id)}", owner.access_token)
    assert r.json()["membership"] == "join"


def set_guest_access(kit: Kit, user: User, room_id: str, value: str) -> None:
    r = kit.request("PUT", f"{V3}/rooms/{room_id}/state/m.room.guest_access/",
                    user.access_token, json={"guest_access": value})
    assert r.status_code == 200, r.text


def test_guest_upgrades_to_a_full_account(gkit: Kit) -> None:
    owner = gkit.register_user()
    room = create_room(gkit, owner, preset="public_chat")
    set_guest_access(gkit, owner, room, "can_join")
    guest = register_guest(gkit)
    r = gkit.request("POST", f"{V3}/join/{room}", guest.access_token, json={})
    assert r.status_code == 200, r.text
    localpart = guest.user_id[1:].split(":")[0]
    # Someone else's guest token, or another username, is refused.
    other = register_guest(gkit)
    body = {"username": localpart, "password": PASSWORD, "guest_access_token":
            other.access_token, "auth": {"type": "m.login.dummy"}}
    assert_error(gkit.http.post(f"{V3}/register", json=body), 403, "M_FORBIDDEN")
    # A numeric username without guest credentials stays reserved.
    r = gkit.http.post(f"{V3}/register", json={"username": localpart, "password": PASSWORD,
                                                "auth": {"type": "m.login.dummy"}})
    assert r.status_code == 400, r.text

    r = gkit.http.post(f"{V3}/register", json={
        "username": localpart, "password": PASSWORD, "guest_access_token": guest.access_token,
        "auth": {"type": "m.login.dummy"}})
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == guest.user_id
    full = gkit.login(guest.user_id)
    r = gkit.request("GET", f"{V3}/account/whoami", full.access_token)
    assert r.json()["is_guest"] is False
    # Full-account endpoints open up, and the rooms stay.
    r = gkit.request("GET", f"{V3}/joined_rooms", full.access_token)
    assert r.status_code == 200 and room in r.json()["joined_rooms"]
    assert create_room(gkit, full)


def test_guests_peek_through_the_legacy_endpoints(gkit: Kit) -> None:
    owner = gkit.register_user()
    room = create_room(gkit, owner, preset="public_chat")
    r = gkit.request("PUT", f"{V3}/rooms/{room}/state/m.room.history_visibility/",
                     owner.access_token, json={"history_visibility": "world_readable"})
    assert r.status_code == 200, r.text
    send_event(gkit, owner, room, {"msgtype": "m.text", "body": "visible to guests"})
    guest = register_guest(gkit)
    r = gkit.request("GET", f"{V3}/rooms/{room}/initialSync", guest.access_token)
    assert r.status_code == 200, r.text
    assert any(e["content"].get("body") == "visible to guests"
               for e in r.json()["messages"]["chunk"])
    r = gkit.request("GET", f"{V3}/events", guest.access_token,
                     params={"room_id": room, "timeout": "0"})
    assert r.status_code == 200, r.text
    # The whole-account view is not for guests.
    assert_error(gkit.request("GET", f"{V3}/initialSync", guest.access_token), 403,
                 "M_GUEST_ACCESS_FORBIDDEN")
