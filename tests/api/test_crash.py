"""Crash safety: ``kill -9`` the server; after a restart on the same data, nothing is lost."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

from tests.kit import PASSWORD, Kit, assert_error, create_room, unique, wait_for_job
from tests.server import GliaProcess


def test_account_and_token_survive_kill9(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory()
    kit = Kit(server.url)
    try:
        registered = kit.register_user()
        second = kit.login(registered.user_id, device_id="SURVIVOR")
        r = kit.request("PUT", f"/_matrix/client/v3/profile/{registered.user_id}/displayname",
                        registered.access_token, json={"displayname": "Still Here"})
        assert r.status_code == 200
        logged_out = kit.login(registered.user_id)
        assert kit.request("POST", "/_matrix/client/v3/logout",
                           logged_out.access_token).status_code == 200

        server.kill9()
        kit.http.close()
        server.start()
        kit = Kit(server.url)

        for user in (registered, second):
            r = kit.request("GET", "/_matrix/client/v3/account/whoami", user.access_token)
            assert r.status_code == 200, r.text
            assert r.json()["user_id"] == registered.user_id
            assert r.json()["device_id"] == user.device_id
        assert_error(kit.request("GET", "/_matrix/client/v3/account/whoami",
                                 logged_out.access_token), 401, "M_UNKNOWN_TOKEN")
        again = kit.login(registered.user_id, PASSWORD)
        assert again.user_id == registered.user_id
        profile = kit.http.get(f"/_matrix/client/v3/profile/{registered.user_id}")
        assert profile.json()["displayname"] == "Still Here"
        devices = kit.request("GET", "/_matrix/client/v3/devices", again.access_token).json()
        assert {d["device_id"] for d in devices["devices"]} == {
            registered.device_id, "SURVIVOR", again.device_id}
        # The restarted server still registers new users (its migrations state is intact).
        kit.register_user()
    finally:
        kit.close()


def test_restart_after_kill9_during_load(glia_factory: Callable[..., GliaProcess]) -> None:
    """Killed right after a burst of writes, the server restarts and serves every account."""
    server = glia_factory()
    kit = Kit(server.url)
    try:
        users = [kit.register_user() for _ in range(10)]
        server.kill9()
        kit.http.close()
        server.start()
        kit = Kit(server.url)
        for user in users:
            r = kit.request("GET", "/_matrix/client/v3/account/whoami", user.access_token)
            assert r.status_code == 200, r.text
    finally:
        kit.close()


def test_room_delete_resumed_after_kill9_makes_one_replacement_room(
        glia_factory: Callable[..., GliaProcess]) -> None:
    """Killed the moment the replacement room exists, a room deletion resumed on restart
    reuses that room instead of creating a second one (its ID commits with the room)."""
    server = glia_factory({"GLIA_JOBS__HEARTBEAT_TIMEOUT": "1"})
    kit = Kit(server.url)
    try:
        admin = kit.make_admin()
        owner = kit.register_user()
        room = create_room(kit, owner, preset="public_chat")
        members = [kit.register_user() for _ in range(3)]
        for m in members:
            r = kit.request("POST", f"/_matrix/client/v3/join/{quote(room)}",
                            m.access_token, json={})
            assert r.status_code == 200, r.text
        name = unique("Replacement")
        rooms_named = f"/_synapse/admin/v1/rooms?search_term={name}"
        r = kit.request("DELETE", f"/_synapse/admin/v2/rooms/{room}", admin.access_token,
                        json={"new_room_user_id": f"@{unique('mod')}:{server.server_name}",
                              "room_name": name})
        assert r.status_code == 200, r.text
        delete_id = r.json()["delete_id"]
        deadline = time.monotonic() + 30
        while kit.request("GET", rooms_named, admin.access_token).json()["total_rooms"] == 0:
            assert time.monotonic() < deadline, "no replacement room"
        server.kill9()
        kit.http.close()
        server.start()
        kit = Kit(server.url)

        job = wait_for_job(kit, admin, delete_id)
        assert job["status"] == "complete", job
        replacements = kit.request("GET", rooms_named, admin.access_token).json()["rooms"]
        assert [r["room_id"] for r in replacements] == [
            job["result"]["shutdown_room"]["new_room_id"]]
        assert sorted(job["result"]["shutdown_room"]["kicked_users"]) == sorted(
            [owner.user_id, *(m.user_id for m in members)])
        r = kit.request("GET", f"/_synapse/admin/v1/rooms/{replacements[0]['room_id']}"
                        "/messages?dir=b&limit=50", admin.access_token)
        notices = [e for e in r.json()["chunk"] if e["type"] == "m.room.message"]
        assert len(notices) == 1
    finally:
        kit.close()
