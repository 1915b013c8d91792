"""Pushers over real HTTP: ``/pushers`` and ``/pushers/set`` (validation, ``append``,
deletion, removal with their device), Synapse's admin list, and delivery to a real push
gateway on loopback: the payload, ``event_id_only``, retries of a failing gateway, a
rejected pushkey removing its pusher, and pushes queued across a restart."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest

from tests.kit import Kit, User, assert_error, create_room, send_event, unique, wait_until
from tests.server import GliaProcess

C = "/_matrix/client/v3"
NOTIFY = "/_matrix/push/v1/notify"


def _q(value: str) -> str:
    return quote(value, safe="")


class Gateway:
    """A push gateway on 127.0.0.1 in a thread: records what it is sent and answers
    what the test says (by default 200 with no rejected pushkeys)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.failures_left = 0
        self.reject: set[str] = set()
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with gateway.lock:
                    if self.path != NOTIFY:
                        status, answer = 404, {}
                    elif gateway.failures_left > 0:
                        gateway.failures_left -= 1
                        status, answer = 503, {}
                    else:
                        gateway.received.append(body)
                        devices = body["notification"]["devices"]
                        status, answer = 200, {"rejected": [
                            d["pushkey"] for d in devices if d["pushkey"] in gateway.reject]}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{NOTIFY}"

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool],
                 timeout: float = 15) -> dict[str, Any]:
        """The first notification received that ``predicate`` accepts."""
        def arrived() -> dict[str, Any] | None:
            with self.lock:
                return next((body["notification"] for body in self.received
                             if predicate(body["notification"])), None)

        return wait_until(arrived, timeout, what="a matching push")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.close()


def _pusher(url: str, pushkey: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "http", "app_id": "org.example.app", "pushkey": pushkey or unique("key"),
        "app_display_name": "Example", "device_display_name": "Phone", "lang": "en",
        "profile_tag": "tag", "data": {"url": url, "custom": "kept"},
    }
    body.update(extra)
    return body


def _set(kit: Kit, user: User, body: Any) -> Any:
    return kit.request("POST", f"{C}/pushers/set", user.access_token, json=body)


def _pushers(kit: Kit, user: User) -> list[dict[str, Any]]:
    r = kit.request("GET", f"{C}/pushers", user.access_token)
    assert r.status_code == 200, r.text
    return list(r.json()["pushers"])


def _join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"{C}/rooms/{_q(room_id)}/join", user.access_token, json={})
    assert r.status_code == 200, r.text


def test_set_list_update_delete(kit: Kit) -> None:
    user = kit.register_user()
    assert _pushers(kit, user) == []
    body = _pusher("https://push.example.org/_matrix/push/v1/notify", "key1")
    r = _set(kit, user, body)
    assert r.status_code == 200 and r.json() == {}, r.text
    assert _pushers(kit, user) == [{
        "app_display_name": "Example", "app_id": "org.example.app",
        "data": {"url": "https://push.example.org/_matrix/push/v1/notify", "custom": "kept"},
        "device_display_name": "Phone", "kind": "http", "lang": "en", "profile_tag": "tag",
        "pushkey": "key1"}]
    # Same app_id and pushkey: an update, not a second pusher.
    assert _set(kit, user, {**body, "lang": "de", "profile_tag": ""}).status_code == 200
    [pusher] = _pushers(kit, user)
    assert pusher["lang"] == "de" and pusher["profile_tag"] == ""
    assert _set(kit, user, _pusher(body["data"]["url"], "key2")).status_code == 200
    assert sorted(p["pushkey"] for p in _pushers(kit, user)) == ["key1", "key2"]
    # kind null deletes (a missing pusher too, quietly).
    r = _set(kit, user, {"kind": None, "app_id": "org.example.app", "pushkey": "key1"})
    assert r.status_code == 200, r.text
    assert [p["pushkey"] for p in _pushers(kit, user)] == ["key2"]
    assert _set(kit, user, {"kind": None, "app_id": "x", "pushkey": "y"}).status_code == 200
    # Other users see their own only.
    assert _pushers(kit, kit.register_user()) == []


def test_append(kit: Kit) -> None:
    first, second = kit.register_user(), kit.register_user()
    url = "https://push.example.org/_matrix/push/v1/notify"
    assert _set(kit, first, _pusher(url, "shared")).status_code == 200
    # With append, both users keep a pusher for the pushkey.
    assert _set(kit, second, _pusher(url, "shared", append=True)).status_code == 200
    assert [p["pushkey"] for p in _pushers(kit, first)] == ["shared"]
    # Without it (the default), the pushkey moves to the latest user.
    assert _set(kit, second, _pusher(url, "shared")).status_code == 200
    assert _pushers(kit, first) == []
    assert [p["pushkey"] for p in _pushers(kit, second)] == ["shared"]


def test_validation(kit: Kit) -> None:
    user = kit.register_user()
    good = _pusher("https://push.example.org/_matrix/push/v1/notify")
    body = assert_error(_set(kit, user, {"kind": "http", "app_id": "a", "pushkey": "k"}), 400,
                        "M_MISSING_PARAM")
    assert "app_display_name" in body["error"] and "data" in body["error"]
    assert_error(_set(kit, user, {k: v for k, v in good.items() if k != "lang"}), 400,
                 "M_MISSING_PARAM")
    assert_error(_set(kit, user, {"kind": None, "app_id": "a"}), 400, "M_MISSING_PARAM")
    assert_error(_set(kit, user, {**good, "data": {}}), 400, "M_MISSING_PARAM")
    for url in ("https://push.example.org/notify", "ftp://push.example.org" + NOTIFY,
                "push.example.org" + NOTIFY, "https://" + NOTIFY, 42):
        assert_error(_set(kit, user, {**good, "data": {"url": url}}), 400, "M_MISSING_PARAM")
    # A gateway under a path prefix is fine.
    assert _set(kit, user, {**good, "data": {
        "url": "https://example.org/gw" + NOTIFY}}).status_code == 200
    assert_error(_set(kit, user, {**good, "kind": "carrier-pigeon"}), 400, "M_INVALID_PARAM")
    assert_error(_set(kit, user, {**good, "app_id": "a" * 65}), 400, "M_INVALID_PARAM")
    assert_error(_set(kit, user, {**good, "pushkey": "é" * 257}), 400, "M_INVALID_PARAM")
    assert_error(_set(kit, user, {**good, "lang": 5}), 400, "M_BAD_JSON")
    assert_error(_set(kit, user, {**good, "data": "x"}), 400, "M_BAD_JSON")
    assert_error(_set(kit, user, {**good, "append": "yes"}), 400, "M_BAD_JSON")
    assert_error(_set(kit, user, {**good, "kind": None, "pushkey": 5}), 400, "M_BAD_JSON")
    assert_error(_set(kit, user, [good]), 400, "M_BAD_JSON")
    deep = json.dumps({**good, "data": {"url": good["data"]["url"], "x": 0}}).replace(
        '"x": 0', '"x": ' + "[" * 900 + "]" * 900)
    assert_error(kit.request("POST", f"{C}/pushers/set", user.access_token,
                             content=deep.encode(),
                             headers={"Content-Type": "application/json"}), 400, "M_BAD_JSON")
    for content in (b"NaN", b"", b"[" * 100_000):
        r = kit.request("POST", f"{C}/pushers/set", user.access_token, content=content,
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
    # An email pusher needs one of the user's email addresses.
    assert_error(_set(kit, user, {**good, "kind": "email", "app_id": "m.email",
                                  "pushkey": "someone@example.org", "data": {}}),
                 400, "M_THREEPID_NOT_FOUND")
    assert [p["data"]["url"] for p in _pushers(kit, user)] == [
        "https://example.org/gw" + NOTIFY]


def test_email_pusher_for_own_address(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    r = kit.request("PUT", f"/_synapse/admin/v2/users/{_q(user.user_id)}", admin.access_token,
                    json={"threepids": [{"medium": "email", "address": "me@example.org"}]})
    assert r.status_code == 200, r.text
    r = _set(kit, user, {"kind": "email", "app_id": "m.email", "pushkey": "me@example.org",
                         "app_display_name": "Email", "device_display_name": "me",
                         "lang": "en", "data": {}})
    assert r.status_code == 200, r.text
    assert [(p["kind"], p["pushkey"]) for p in _pushers(kit, user)] == [
        ("email", "me@example.org")]


def test_pushers_go_with_their_device(kit: Kit) -> None:
    user = kit.register_user()
    phone = kit.login(user.user_id, device_id="PHONE")
    url = "https://push.example.org/_matrix/push/v1/notify"
    assert _set(kit, user, _pusher(url, "desk")).status_code == 200
    assert _set(kit, phone, _pusher(url, "phone")).status_code == 200
    # Another device may edit a pusher; it stays the first device's.
    assert _set(kit, user, _pusher(url, "phone", lang="fr")).status_code == 200
    assert sorted(p["pushkey"] for p in _pushers(kit, user)) == ["desk", "phone"]
    r = kit.request("POST", f"{C}/logout", phone.access_token, json={})
    assert r.status_code == 200, r.text
    assert [p["pushkey"] for p in _pushers(kit, user)] == ["desk"]
    # Logging out everywhere removes the rest.
    again = kit.login(user.user_id)
    r = kit.request("POST", f"{C}/logout/all", user.access_token, json={})
    assert r.status_code == 200, r.text
    assert _pushers(kit, kit.login(user.user_id)) == []
    assert again.device_id


def test_admin_list(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    path = f"/_synapse/admin/v1/users/{_q(user.user_id)}/pushers"
    r = kit.request("GET", path, admin.access_token)
    assert r.status_code == 200 and r.json() == {"pushers": [], "total": 0}, r.text
    url = "https://push.example.org/_matrix/push/v1/notify"
    assert _set(kit, user, _pusher(url, "k1")).status_code == 200
    r = kit.request("GET", path, admin.access_token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1
    [p] = body["pushers"]
    assert p["pushkey"] == "k1" and p["kind"] == "http" and p["app_id"] == "org.example.app"
    assert p["data"]["url"] == url
    assert p["enabled"] is True and p["device_id"] == user.device_id
    # Exactly Synapse's fields on Synapse's path...
    assert set(p) == {"app_display_name", "app_id", "data", "device_display_name", "kind",
                      "lang", "profile_tag", "pushkey", "enabled", "device_id"}
    # ...and Glia's mount adds the delivery health.
    r = kit.request("GET", f"/_glia/admin/v1/users/{_q(user.user_id)}/pushers",
                    admin.access_token)
    assert r.status_code == 200, r.text
    [health] = r.json()["pushers"]
    assert {k: v for k, v in health.items() if k in p} == p
    assert isinstance(health["pushkey_ts"], int)
    assert health["last_success_ts"] is None and health["failing_since_ts"] is None
    assert health["queued_pushes"] == 0
    assert_error(kit.request("GET", "/_synapse/admin/v1/users/%40x%3Aelsewhere.org/pushers",
                             admin.access_token), 400, "M_UNKNOWN")
    assert_error(kit.request("GET", "/_synapse/admin/v1/users/%40nobody%3Alocalhost/pushers",
                             admin.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", "/_synapse/admin/v1/users/nonsense/pushers",
                             admin.access_token), 400, "M_INVALID_PARAM")
    assert_error(kit.request("GET", path, user.access_token), 403, "M_FORBIDDEN")


def _room_with(kit: Kit, alice: User, bob: User, **create: Any) -> str:
    room_id = create_room(kit, alice, preset="public_chat", **create)
    _join(kit, bob, room_id)
    return room_id


def test_delivery(kit: Kit, gateway: Gateway) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    alias = unique("pushroom")
    room_id = _room_with(kit, alice, bob, name="Push room", room_alias_name=alias)
    # A third member: not a one-to-one room, so plain messages make no sound.
    _join(kit, kit.register_user(), room_id)
    r = kit.request("PUT", f"{C}/profile/{_q(alice.user_id)}/displayname", alice.access_token,
                    json={"displayname": "Alice A."})
    assert r.status_code == 200, r.text
    assert _set(kit, bob, _pusher(gateway.url, "bobkey")).status_code == 200
    event_id = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "push me"})
    note = gateway.wait_for(lambda n: n.get("event_id") == event_id)
    assert note["room_id"] == room_id
    assert note["type"] == "m.room.message" and note["sender"] == alice.user_id
    assert note["sender_display_name"] == "Alice A."
    assert note["room_name"] == "Push room"
    assert note["room_alias"] == f"#{alias}:localhost"
    assert note["content"] == {"msgtype": "m.text", "body": "push me"}
    assert note["prio"] == "low"
    assert note["counts"] == {"unread": 1}
    [device] = note["devices"]
    assert device["app_id"] == "org.example.app" and device["pushkey"] == "bobkey"
    assert device["data"] == {"custom": "kept"}
    assert device["tweaks"] == {}
    assert isinstance(device["pushkey_ts"], int)
    assert abs(device["pushkey_ts"] - time.time()) < 600
    # A mention is loud: sound and highlight tweaks, high priority; counts go up.
    mention = send_event(kit, alice, room_id, {
        "msgtype": "m.text", "body": "bob!", "m.mentions": {"user_ids": [bob.user_id]}})
    note = gateway.wait_for(lambda n: n.get("event_id") == mention)
    assert note["prio"] == "high" and note["counts"] == {"unread": 2}
    assert note["devices"][0]["tweaks"] == {"sound": "default", "highlight": True}
    # The sender's own events are never pushed to them.
    send_event(kit, bob, room_id, {"msgtype": "m.text", "body": "from bob"})
    last = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "after"})
    note = gateway.wait_for(lambda n: n.get("event_id") == last)
    # Bob's message read the room: only the newest is unread.
    assert note["counts"] == {"unread": 1}
    assert all(b["notification"]["sender"] == alice.user_id for b in gateway.received)
    # Delivery health for admins.
    admin = kit.make_admin()
    r = kit.request("GET", f"/_glia/admin/v1/users/{_q(bob.user_id)}/pushers",
                    admin.access_token)
    [p] = r.json()["pushers"]
    assert p["last_success_ts"] is not None and p["failing_since_ts"] is None


def test_event_id_only(kit: Kit, gateway: Gateway) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = _room_with(kit, alice, bob, name="Secret")
    body = _pusher(gateway.url, "quiet")
    body["data"] = {"url": gateway.url, "format": "event_id_only"}
    assert _set(kit, bob, body).status_code == 200
    event_id = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "private"})
    note = gateway.wait_for(lambda n: n.get("event_id") == event_id)
    assert set(note) == {"event_id", "room_id", "prio", "counts", "devices"}
    assert note["devices"][0]["data"] == {"format": "event_id_only"}


def test_retries_a_failing_gateway(kit: Kit, gateway: Gateway) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = _room_with(kit, alice, bob)
    assert _set(kit, bob, _pusher(gateway.url, "flaky")).status_code == 200
    gateway.failures_left = 2
    event_id = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "eventually"})
    gateway.wait_for(lambda n: n.get("event_id") == event_id, timeout=20)
    assert gateway.failures_left == 0
    assert sum(1 for b in gateway.received
               if b["notification"].get("event_id") == event_id) == 1


def test_rejected_pushkey_removes_pusher(kit: Kit, gateway: Gateway) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = _room_with(kit, alice, bob)
    assert _set(kit, bob, _pusher(gateway.url, "stale")).status_code == 200
    assert _set(kit, bob, _pusher(gateway.url, "fresh")).status_code == 200
    gateway.reject.add("stale")
    event_id = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "who is there"})
    for key in ("stale", "fresh"):
        gateway.wait_for(lambda n, key=key: n.get("event_id") == event_id  # type: ignore[misc]
                         and n["devices"][0]["pushkey"] == key)
    wait_until(lambda: [p["pushkey"] for p in _pushers(kit, bob)] == ["fresh"], 10,
               what="the rejected pusher to go")
    # Later pushes only go to the pusher that is left.
    later = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "again"})
    gateway.wait_for(lambda n: n.get("event_id") == later)
    # A grace period for a push that must not come: an absence has no event to wait for.
    time.sleep(0.3)
    keys = [b["notification"]["devices"][0]["pushkey"] for b in gateway.received
            if b["notification"].get("event_id") == later]
    assert keys == ["fresh"]


def test_queued_pushes_survive_a_restart(glia_factory: Callable[..., GliaProcess],
                                         gateway: Gateway) -> None:
    server = glia_factory()
    kit = Kit(server.url)
    try:
        alice, bob = kit.register_user(), kit.register_user()
        room_id = _room_with(kit, alice, bob)
        assert _set(kit, bob, _pusher(gateway.url, "durable")).status_code == 200
        # The gateway is down when the event is sent: the push stays queued, to be
        # retried a second after the failure (stop before that retry).
        gateway.failures_left = 10**6
        admin = kit.make_admin()
        pushers = f"/_glia/admin/v1/users/{_q(bob.user_id)}/pushers"
        event_id = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "later"})
        def failing() -> dict[str, Any] | None:
            [p] = kit.request("GET", pushers, admin.access_token).json()["pushers"]
            return p if p["failing_since_ts"] is not None else None

        p = wait_until(failing, 10, what="the push to fail")
        server.stop()
        assert p["queued_pushes"] == 1 and p["last_success_ts"] is None
        gateway.failures_left = 0
        server.start()
        # The worker starts with the first use of the server (here, reading push rules).
        r = kit.request("GET", f"{C}/pushrules/", bob.access_token)
        assert r.status_code == 200, r.text
        gateway.wait_for(lambda n: n.get("event_id") == event_id, timeout=20)
    finally:
        kit.close()


def test_two_processes_push_each_event_once(db_kind: str,
                                            new_database_url: Callable[[], str],
                                            gateway: Gateway) -> None:
    """Two Glia processes on one database both deliver from the shared queue; the lease
    on each claimed push means every event reaches the gateway exactly once."""
    if db_kind != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    url = new_database_url()
    first = GliaProcess(url).start()
    second = GliaProcess(url).start()
    kit_a, kit_b = Kit(first.url), Kit(second.url)
    try:
        alice, bob = kit_a.register_user(), kit_a.register_user()
        room_id = _room_with(kit_a, alice, bob)
        assert _set(kit_a, bob, _pusher(gateway.url, "both")).status_code == 200
        sent = [send_event(kit_a if i % 2 else kit_b, alice, room_id,
                           {"msgtype": "m.text", "body": f"n{i}"}) for i in range(12)]
        for event_id in sent:
            gateway.wait_for(lambda n, e=event_id: n.get("event_id") == e)  # type: ignore[misc]
        # A grace period for duplicates that must not come: an absence has no event to
        # wait for.
        time.sleep(0.5)
        ids = [b["notification"]["event_id"] for b in gateway.received]
        assert sorted(ids) == sorted(sent)
    finally:
        kit_a.close()
        kit_b.close()
        first.stop()
        second.stop()
    for server in (first, second):
        assert "Traceback" not in server.log(), server.log()[-3000:]


def test_private_gateways_are_refused_by_default(glia_factory: Callable[..., GliaProcess],
                                                 gateway: Gateway) -> None:
    """Without push.allow_private_gateways, a pusher pointing into the server's own
    network (here loopback) receives nothing, and admins see it failing."""
    server = glia_factory({"GLIA_PUSH__ALLOW_PRIVATE_GATEWAYS": "false"})
    kit = Kit(server.url)
    try:
        alice, bob = kit.register_user(), kit.register_user()
        room_id = _room_with(kit, alice, bob)
        assert _set(kit, bob, _pusher(gateway.url, "private")).status_code == 200
        send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "not for loopback"})
        admin = kit.make_admin()
        def failing() -> bool:
            r = kit.request("GET", f"/_glia/admin/v1/users/{_q(bob.user_id)}/pushers",
                            admin.access_token)
            [p] = r.json()["pushers"]
            return p["failing_since_ts"] is not None

        wait_until(failing, 10, what="the push to fail")
        assert gateway.received == []
        assert "not on a public address" in server.log()
    finally:
        kit.close()
