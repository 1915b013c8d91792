"""The same starting point on both servers: users, rooms, messages, reports, media and
devices made through the ordinary client and admin APIs, and the placeholders (IDs) the
scripted calls use on each server."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User

PASSWORD = "compat password 1"
#: Users made on both servers (the admin first).
LOCALPARTS = ("cmpadmin", "alice", "bob", "carol", "dave", "erin")


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, f"{r.request.method} {r.request.url}: {r.text}"
    body: dict[str, Any] = r.json()
    return body


def _room(kit: Kit, user: User, **body: Any) -> str:
    body.setdefault("room_version", "10")  # Synapse 1.163's default; Glia's is 12
    return str(_ok(kit.request("POST", "/_matrix/client/v3/createRoom", user.access_token,
                               json=body))["room_id"])


def _send(kit: Kit, user: User, room_id: str, text: str) -> str:
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/"
                    f"t{time.monotonic_ns()}", user.access_token,
                    json={"msgtype": "m.text", "body": text})
    return str(_ok(r)["event_id"])


def _join(kit: Kit, user: User, room_id: str) -> None:
    _ok(kit.request("POST", f"/_matrix/client/v3/join/{quote(room_id)}", user.access_token,
                    json={}))


def populate(kit: Kit) -> tuple[dict[str, str], dict[str, User]]:
    """Build the fixtures on one server; returns the placeholders and the users."""
    users = {name: kit.register_user(name, PASSWORD, admin=name == "cmpadmin")
             for name in LOCALPARTS}
    admin, alice, bob = users["cmpadmin"], users["alice"], users["bob"]
    room = _room(kit, alice, name="Compat room", topic="about compat", preset="private_chat",
                 invite=[bob.user_id], room_alias_name="compat")
    _join(kit, bob, room)
    events = [_send(kit, alice, room, f"message {i}") for i in range(3)]
    _send(kit, bob, room, "a reply")
    public = _room(kit, alice, name="Public room", preset="public_chat")
    doomed = _room(kit, alice, name="Doomed room", preset="public_chat")
    doomed2 = _room(kit, alice, name="Doomed room 2", preset="public_chat")
    space = _room(kit, alice, name="Space", creation_content={"type": "m.space"})
    _ok(kit.request("POST", f"/_matrix/client/v3/rooms/{quote(room)}/report/"
                    f"{quote(events[0])}", bob.access_token,
                    json={"reason": "spam", "score": -100}))
    _ok(kit.request("POST", f"/_matrix/client/v3/users/{quote(alice.user_id)}/report",
                    bob.access_token, json={"reason": "rude"}))
    media = _ok(kit.request("POST", "/_matrix/media/v3/upload?filename=a.txt",
                            alice.access_token, content=b"hello compat",
                            headers={"Content-Type": "text/plain"}))["content_uri"]
    media2 = _ok(kit.request("POST", "/_matrix/media/v3/upload?filename=b.txt",
                             alice.access_token, content=b"more compat",
                             headers={"Content-Type": "text/plain"}))["content_uri"]
    _send(kit, alice, room, "see file")
    second = kit.login(alice.user_id, PASSWORD, device_id="COMPATDEV")
    reports = _ok(kit.request("GET", "/_synapse/admin/v1/event_reports",
                              admin.access_token))["event_reports"]
    user_reports = _ok(kit.request("GET", "/_synapse/admin/v1/user_reports",
                                   admin.access_token))["user_reports"]
    ids = {
        **{name: u.user_id for name, u in users.items()},
        "room": room, "public": public, "doomed": doomed, "doomed2": doomed2,
        "space": space, "event": events[0], "event2": events[1],
        "media": media.rsplit("/", 1)[1], "media2": media2.rsplit("/", 1)[1],
        "report": str(reports[0]["id"]), "user_report": str(user_reports[0]["id"]),
        "device": second.device_id, "alias": "#compat:localhost",
        "now": str(int(time.time() * 1000)),
    }
    return ids, users
