"""``GET /voip/turnServer`` (client-server spec, "Voice over IP"): time-limited
credentials from a shared secret in coturn's REST-API scheme, static credentials, and
``{}`` when no TURN server is configured (Synapse's answer)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

from tests.kit import Kit, assert_error
from tests.server import GliaProcess

PATH = "/_matrix/client/v3/voip/turnServer"
URIS = "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349"


def test_shared_secret_gives_expiring_hmac_credentials(
        glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_VOIP__TURN_URIS": URIS,
                           "GLIA_VOIP__TURN_SHARED_SECRET": "s3cret",
                           "GLIA_VOIP__TURN_USER_LIFETIME": "600"})
    kit = Kit(server.url)
    try:
        user = kit.register_user()
        now = kit.server_now()
        r = kit.request("GET", PATH, user.access_token)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["uris"] == URIS.split(",")
        assert body["ttl"] == 600
        expiry, user_id = body["username"].split(":", 1)
        assert user_id == user.user_id
        assert now // 1000 + 600 <= int(expiry) <= now // 1000 + 602
        # coturn checks the password as base64(HMAC-SHA1(secret, username)).
        expected = base64.b64encode(hmac.new(b"s3cret", body["username"].encode(),
                                             hashlib.sha1).digest()).decode()
        assert body["password"] == expected
        # Credentials are made per request: later, a later expiry.
        kit.advance_clock(100_000)
        later = kit.request("GET", PATH, user.access_token).json()
        assert int(later["username"].split(":")[0]) >= int(expiry) + 100
        assert_error(kit.request("GET", PATH), 401, "M_MISSING_TOKEN")
    finally:
        kit.close()


def test_static_credentials(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_VOIP__TURN_URIS": "turn:10.20.30.40:3478",
                           "GLIA_VOIP__TURN_USERNAME": "turnuser",
                           "GLIA_VOIP__TURN_PASSWORD": "turnpass"})
    kit = Kit(server.url)
    try:
        user = kit.register_user()
        r = kit.request("GET", PATH, user.access_token)
        assert r.status_code == 200, r.text
        assert r.json() == {"username": "turnuser", "password": "turnpass",
                            "uris": ["turn:10.20.30.40:3478"], "ttl": 3600}
    finally:
        kit.close()


def test_no_turn_server_answers_empty_object(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("GET", PATH, user.access_token)
    assert r.status_code == 200, r.text
    assert r.json() == {}
