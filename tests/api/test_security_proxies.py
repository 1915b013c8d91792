"""``X-Forwarded-For`` is believed only from the proxies the operator names.

uvicorn trusted the header from loopback by default, so anyone who could reach the
server from 127.0.0.1 — or any proxy on the same host that passes the header through —
picked the address Glia recorded for their session and rate-limited them by: a fresh
made-up address per request was a fresh rate-limit bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from tests.kit import Kit, User, unique
from tests.server import GliaProcess


def seen_ip(kit: Kit, admin: User, user: User) -> str:
    r = kit.request("GET", f"/_synapse/admin/v1/whois/{quote(user.user_id)}",
                    admin.access_token)
    assert r.status_code == 200, r.text
    return str(r.json()["devices"][""]["sessions"][0]["connections"][0]["ip"])


def whoami_from(kit: Kit, user: User, forwarded: str) -> None:
    r = kit.request("GET", "/_matrix/client/v3/account/whoami", user.access_token,
                    headers={"X-Forwarded-For": forwarded})
    assert r.status_code == 200, r.text


def test_forwarded_for_from_untrusted_peer_is_ignored(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    whoami_from(kit, user, "203.0.113.9")
    assert seen_ip(kit, admin, user) == "127.0.0.1"


def test_made_up_addresses_do_not_escape_the_rate_limit(
        glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_RATELIMIT__ENABLED": "true",
                           "GLIA_RATELIMIT__REGISTER__BURST": "2",
                           "GLIA_RATELIMIT__REGISTER__PER_SECOND": "0.01"})
    kit = Kit(server.url)
    statuses = [kit.http.post("/_matrix/client/v3/register",
                              json={"username": unique("xff"), "password": "a password 1"},
                              headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                for i in range(3)]
    assert statuses == [401, 401, 429], statuses


def test_trusted_proxy_passes_on_the_client_address(
        glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_LISTENERS__TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
                           "GLIA_RATELIMIT__ENABLED": "true",
                           "GLIA_RATELIMIT__REGISTER__BURST": "1",
                           "GLIA_RATELIMIT__REGISTER__PER_SECOND": "0.01"})
    kit = Kit(server.url)
    admin, user = kit.make_admin(), kit.register_user()
    # The rightmost address that is not a trusted proxy is the client; what lies to its
    # left was written by the client and is not believed.
    whoami_from(kit, user, "6.6.6.6, 203.0.113.9, 10.1.2.3")
    assert seen_ip(kit, admin, user) == "203.0.113.9"

    def register(forwarded: str) -> int:
        return kit.http.post("/_matrix/client/v3/register",
                             json={"username": unique("xff"), "password": "a password 1"},
                             headers={"X-Forwarded-For": forwarded}).status_code

    # Each client address has its own bucket; one client cannot spend another's.
    assert register("198.51.100.1") == 401
    assert register("198.51.100.1") == 429
    assert register("198.51.100.2") == 401
    assert register("203.0.113.5, 198.51.100.2") == 429


def test_garbage_forwarded_for_from_a_trusted_proxy(
        glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_LISTENERS__TRUSTED_PROXIES": "127.0.0.1"})
    kit = Kit(server.url)
    admin, user = kit.make_admin(), kit.register_user()
    whoami_from(kit, user, "not an address")
    assert seen_ip(kit, admin, user) == "127.0.0.1"


def test_invalid_trusted_proxies_refuse_to_start(
        glia_factory: Callable[..., GliaProcess]) -> None:
    try:
        glia_factory({"GLIA_LISTENERS__TRUSTED_PROXIES": "10.0.0.0/33"})
    except RuntimeError as e:
        assert "listeners.trusted_proxies" in str(e)
    else:
        raise AssertionError("the server started with an invalid trusted_proxies entry")
