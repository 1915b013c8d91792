"""Crash safety: ``kill -9`` the server; after a restart on the same data, nothing is lost."""

from __future__ import annotations

from collections.abc import Callable

from tests.kit import PASSWORD, Kit, assert_error
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
