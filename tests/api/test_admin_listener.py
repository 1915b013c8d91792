"""The admin API on its own listener, off the client port."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.kit import Kit, assert_error, wait_until
from tests.pg import free_port
from tests.server import GliaProcess


def _wait_for(url: str) -> None:
    def answering() -> bool:
        try:
            httpx.get(url, timeout=1)
        except httpx.HTTPError:
            return False
        return True

    wait_until(answering, timeout=10, what=f"{url} to answer")


def test_admin_only_on_admin_listener(glia_factory: Callable[..., GliaProcess]) -> None:
    admin_port = free_port()
    server = glia_factory({
        "GLIA_LISTENERS__ADMIN__ENABLED": "true",
        "GLIA_LISTENERS__ADMIN__PORT": str(admin_port),
        "GLIA_LISTENERS__ADMIN__ON_CLIENT_LISTENER": "false",
    })
    admin_url = f"http://127.0.0.1:{admin_port}"
    _wait_for(admin_url)
    with httpx.Client(base_url=admin_url) as admin, httpx.Client(base_url=server.url) as client:
        # Admin paths answer on the admin port ...
        r = admin.get("/_synapse/admin/v1/server_version")
        assert r.status_code == 200 and "server_version" in r.json()
        assert admin.get("/_synapse/admin/v1/register").status_code == 200
        assert r.headers["access-control-allow-origin"] == "*"
        # ... and are unknown on the client port.
        assert_error(client.get("/_synapse/admin/v1/server_version"), 404, "M_UNRECOGNIZED")
        assert_error(client.get("/_synapse/admin/v1/register"), 404, "M_UNRECOGNIZED")
        assert_error(client.post("/_synapse/admin/v1/register", json={}), 404, "M_UNRECOGNIZED")
        # Client paths are not served on the admin port.
        assert_error(admin.get("/_matrix/client/versions"), 404, "M_UNRECOGNIZED")
        assert_error(admin.get("/_matrix/client/v3/account/whoami"), 404, "M_UNRECOGNIZED")
        assert client.get("/_matrix/client/versions").status_code == 200
        # Health checks answer on both.
        assert admin.get("/health").text == "OK" and client.get("/health").text == "OK"

    # Shared-secret registration on the admin port creates a user who uses the client port.
    admin_kit = Kit(admin_url)
    user = admin_kit.register_user()
    admin_kit.close()
    with httpx.Client(base_url=server.url) as client:
        r = client.get("/_matrix/client/v3/account/whoami",
                       headers={"Authorization": f"Bearer {user.access_token}"})
        assert r.status_code == 200 and r.json()["user_id"] == user.user_id


def test_admin_on_both_listeners(glia_factory: Callable[..., GliaProcess]) -> None:
    admin_port = free_port()
    server = glia_factory({
        "GLIA_LISTENERS__ADMIN__ENABLED": "true",
        "GLIA_LISTENERS__ADMIN__PORT": str(admin_port),
    })
    admin_url = f"http://127.0.0.1:{admin_port}"
    _wait_for(admin_url)
    for url in (admin_url, server.url):
        r = httpx.get(f"{url}/_synapse/admin/v1/server_version")
        assert r.status_code == 200, (url, r.text)


def test_admin_paths_on_client_listener_by_default(kit: Kit) -> None:
    r = kit.http.get("/_synapse/admin/v1/server_version")
    assert r.status_code == 200


def test_spec_admin_endpoints_stay_on_client_listener(
        glia_factory: Callable[..., GliaProcess]) -> None:
    """Moving the admin mounts to their own port must not take the Client-Server API's own
    admin endpoints (whois, suspend, lock) off the client port: clients call them there."""
    admin_port = free_port()
    server = glia_factory({
        "GLIA_LISTENERS__ADMIN__ENABLED": "true",
        "GLIA_LISTENERS__ADMIN__PORT": str(admin_port),
        "GLIA_LISTENERS__ADMIN__ON_CLIENT_LISTENER": "false",
    })
    admin_url = f"http://127.0.0.1:{admin_port}"
    _wait_for(admin_url)
    admin_kit = Kit(admin_url)
    admin = admin_kit.make_admin()
    user = admin_kit.register_user()
    admin_kit.close()
    kit = Kit(server.url)
    try:
        for version in ("v3", "r0"):
            # A user asks about themselves, an admin about someone else.
            r = kit.request("GET", f"/_matrix/client/{version}/admin/whois/{user.user_id}",
                            user.access_token)
            assert r.status_code == 200 and r.json()["user_id"] == user.user_id, r.text
            r = kit.request("GET", f"/_matrix/client/{version}/admin/whois/{user.user_id}",
                            admin.access_token)
            assert r.status_code == 200 and r.json()["user_id"] == user.user_id, r.text
        for kind in ("suspend", "lock"):
            r = kit.request("GET", f"/_matrix/client/v1/admin/{kind}/{user.user_id}",
                            admin.access_token)
            assert r.status_code == 200, r.text
        # The admin mounts' whois is still only on the admin port.
        assert_error(kit.request("GET", f"/_synapse/admin/v1/whois/{user.user_id}",
                                 admin.access_token), 404, "M_UNRECOGNIZED")
    finally:
        kit.close()
