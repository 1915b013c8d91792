"""Account validity over real HTTP on a server with it enabled: registration sets an
expiry, an expired account is refused everywhere but logout, the admin API sets expiries,
and the renewal link (sent as a server notice) extends the account."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.kit import Kit, User, assert_error, wait_until
from tests.server import GliaProcess

V = "/_synapse/admin/v1/account_validity/validity"
PERIOD_S = 1000
RENEW_AT_S = 100
FAR_FUTURE = 2**52


@pytest.fixture(scope="module")
def av_server(new_database_url: Callable[[], str]) -> Iterator[Kit]:
    server = GliaProcess(new_database_url(), {
        "GLIA_ACCOUNT_VALIDITY__ENABLED": "true",
        "GLIA_ACCOUNT_VALIDITY__PERIOD": str(PERIOD_S),
        "GLIA_ACCOUNT_VALIDITY__RENEW_AT": str(RENEW_AT_S)}).start()
    kit = Kit(server.url)
    yield kit
    kit.close()
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-5000:]


def _set(kit: Kit, admin: User, body: dict[str, Any]) -> int:
    r = kit.request("POST", V, admin.access_token, json=body)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"expiration_ts"}
    return int(r.json()["expiration_ts"])


def _immortal_admin(kit: Kit) -> User:
    """An admin (and the kit's clock admin) that outlive every clock move here."""
    admin = kit.make_admin()
    kit.server_now()
    clock_admin = kit._clock_admin
    assert clock_admin is not None
    for who in (admin, clock_admin):
        _set(kit, admin, {"user_id": who.user_id, "expiration_ts": FAR_FUTURE,
                          "enable_renewal_emails": False})
    return admin


def _whoami(kit: Kit, user: User) -> Any:
    return kit.request("GET", "/_matrix/client/v3/account/whoami", user.access_token)


def test_registration_sets_an_expiry_enforced_on_every_route(av_server: Kit) -> None:
    kit = av_server
    admin = _immortal_admin(kit)
    user = kit.register_user()
    other = kit.login(user.user_id)
    assert _whoami(kit, user).status_code == 200
    kit.advance_clock(PERIOD_S * 1000 + 1000)
    assert_error(_whoami(kit, user), 403, "M_EXPIRED_ACCOUNT")
    assert_error(kit.request("GET", "/_matrix/client/v3/sync", user.access_token), 403,
                 "M_EXPIRED_ACCOUNT")
    assert_error(kit.request("POST", "/_matrix/client/v3/createRoom", user.access_token,
                             json={}), 403, "M_EXPIRED_ACCOUNT")
    # Logging out still works, as in Synapse.
    r = kit.request("POST", "/_matrix/client/v3/logout", other.access_token, json={})
    assert r.status_code == 200, r.text
    # The admin gives the account more time: it works again.
    now = kit.server_now()
    assert _set(kit, admin, {"user_id": user.user_id, "expiration_ts": now + 60_000}) \
        == now + 60_000
    assert _whoami(kit, user).status_code == 200
    # Without expiration_ts: one period from now.
    before = kit.server_now()
    expires = _set(kit, admin, {"user_id": user.user_id})
    assert before + PERIOD_S * 1000 <= expires <= kit.server_now() + PERIOD_S * 1000


def test_admin_errors(av_server: Kit) -> None:
    kit = av_server
    admin = _immortal_admin(kit)
    user = kit.register_user()
    body = assert_error(kit.request("POST", V, admin.access_token, json={}), 400,
                        "M_UNKNOWN")
    assert body["error"] == "Missing property 'user_id' in the request body"
    assert_error(kit.request("POST", V, admin.access_token,
                             json={"user_id": "@nobody:localhost"}), 404, "M_NOT_FOUND")
    assert_error(kit.request("POST", V, admin.access_token,
                             json={"user_id": "@someone:elsewhere"}), 404, "M_NOT_FOUND")
    assert_error(kit.request("POST", V, admin.access_token, json={"user_id": "nope"}), 400,
                 "M_INVALID_PARAM")
    assert_error(kit.request("POST", V, admin.access_token,
                             json={"user_id": user.user_id, "expiration_ts": "soon"}), 400,
                 "M_BAD_JSON")
    assert_error(kit.request("POST", V, admin.access_token,
                             json={"user_id": user.user_id, "expiration_ts": -1}), 400,
                 "M_INVALID_PARAM")
    assert_error(kit.request("POST", V, user.access_token, json={"user_id": user.user_id}),
                 403, "M_FORBIDDEN")


def _notice_link(kit: Kit, user: User) -> str:
    """The renewal link of the server notice the user was sent (joining the room)."""

    def invited() -> str | None:
        r = kit.request("GET", "/_matrix/client/v3/sync?timeout=0", user.access_token)
        assert r.status_code == 200, r.text
        rooms = list(r.json().get("rooms", {}).get("invite", {}))
        return rooms[0] if rooms else None

    room_id = wait_until(invited, what="the renewal notice")
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/join", user.access_token,
                    json={})
    assert r.status_code == 200, r.text

    def notice_bodies() -> list[str] | None:
        # The invite is written before the notice message, so the join may come first.
        r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/messages?dir=b",
                        user.access_token)
        assert r.status_code == 200, r.text
        found = [e["content"].get("body", "") for e in r.json()["chunk"]
                 if e["type"] == "m.room.message"]
        return found or None

    bodies = wait_until(notice_bodies, what="the renewal notice message")
    assert len(bodies) == 1, bodies
    match = re.search(r"https?://\S+(/_matrix/client/v3/account_validity/renew\?token=\S+)",
                      bodies[0])
    assert match, bodies[0]
    return match.group(1)


def test_renewal_notice_and_link(av_server: Kit) -> None:
    kit = av_server
    admin = _immortal_admin(kit)
    user = kit.register_user()
    # Inside renew_at of the expiry: the notice goes out.
    now = kit.server_now()
    _set(kit, admin, {"user_id": user.user_id, "expiration_ts": now + 50_000})
    link = _notice_link(kit, user)
    kit.advance_clock(60_000)
    assert_error(_whoami(kit, user), 403, "M_EXPIRED_ACCOUNT")
    r = kit.request("GET", link)
    assert r.status_code == 200 and "renewed" in r.text, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert _whoami(kit, user).status_code == 200
    # The link works once; again it says so and changes nothing.
    r = kit.request("GET", link)
    assert r.status_code == 200 and "already" in r.text, r.text
    r = kit.request("GET", "/_matrix/client/v3/account_validity/renew?token=bogus")
    assert r.status_code == 404, r.text
    assert_error(kit.request("GET", "/_matrix/client/unstable/account_validity/renew"), 400,
                 "M_MISSING_PARAM")


def test_disabled_by_default(kit: Kit) -> None:
    """On a server without account validity an expiry set by an admin is not enforced."""
    admin = kit.make_admin()
    user = kit.register_user()
    _set(kit, admin, {"user_id": user.user_id, "expiration_ts": 1})
    assert _whoami(kit, user).status_code == 200
