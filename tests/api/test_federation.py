"""Two Glia servers federating on loopback over TLS: keys (published, fetched, notarised,
rotated), signed requests both ways for profiles, aliases, devices, end-to-end keys, the
room directory and versions, OpenID, the admin diagnostics, and hostile requests (bad
signatures, wrong destination, forged origin, unknown keys, garbage) that are refused
with 401/400/403 and never a 500."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from glia.protocol.federation_auth import authorization_header, parse_x_matrix
from glia.protocol.server_keys import check_key_response
from glia.protocol.signing import decode_verify_key, generate_signing_key, key_id, verify_json
from tests.api.test_keys import setup_device
from tests.federation import (
    FederatingServer,
    LoopbackCA,
    pair_names,
    signed_request,
    start_federating,
)
from tests.kit import Kit, assert_error, create_room, unique, wait_until
from tests.server import GliaProcess

F1 = "/_matrix/federation/v1"


class Pair:
    def __init__(self, a: FederatingServer, b: FederatingServer, down: list[str]) -> None:
        self.a, self.b = a, b
        #: Allowed server names where nothing listens (each test that needs one its own,
        #: as failures put a destination in back-off).
        self.down, self.down_too = down
        self.kit_a, self.kit_b = Kit(a.process.url), Kit(b.process.url)
        self.admin_a = self.kit_a.make_admin()


@pytest.fixture(scope="module")
def pair(new_database_url: Callable[[], str]) -> Iterator[Pair]:
    ca = LoopbackCA()
    names, ports = pair_names()
    started: list[GliaProcess] = []

    def start(env: dict[str, str], server_name: str) -> GliaProcess:
        process = GliaProcess(new_database_url(), env, server_name=server_name)
        started.append(process)
        return process.start()

    try:
        a = start_federating(start, ca, names, ports, 0)
        b = start_federating(start, ca, names, ports, 1)
        p = Pair(a, b, names[2:])
        yield p
        p.kit_a.close()
        p.kit_b.close()
    finally:
        for process in started:
            process.stop()
    for process in started:
        assert "Traceback" not in process.log(), process.log()[-5000:]


def tls_get(server: FederatingServer, path: str) -> httpx.Response:
    with httpx.Client(verify=ssl.create_default_context(cafile=server.ca_path)) as http:
        return http.get(server.federation_url + path)


def tls_post(server: FederatingServer, path: str, body: Any) -> httpx.Response:
    with httpx.Client(verify=ssl.create_default_context(cafile=server.ca_path)) as http:
        return http.post(server.federation_url + path, json=body)


def from_a(pair: Pair, method: str, path: str, content: Any = None,
           **kwargs: Any) -> httpx.Response:
    """A request to B, signed by A with A's real key."""
    return signed_request(pair.a.name, pair.a.signing_key(), pair.b, method, path, content,
                          **kwargs)


def from_b(pair: Pair, method: str, path: str, content: Any = None) -> httpx.Response:
    return signed_request(pair.b.name, pair.b.signing_key(), pair.a, method, path, content)


def test_key_server_publishes_a_self_signed_key(pair: Pair) -> None:
    r = tls_get(pair.a, "/_matrix/key/v2/server")
    assert r.status_code == 200, r.text
    body = r.json()
    keys = check_key_response(body, pair.a.name)
    assert [k.key_id for k in keys] == [key_id(pair.a.signing_key())]
    assert body["valid_until_ts"] > time.time() * 1000
    assert body["old_verify_keys"] == {}
    deprecated = tls_get(pair.a, f"/_matrix/key/v2/server/{key_id(pair.a.signing_key())}")
    assert deprecated.status_code == 200
    assert deprecated.json()["verify_keys"] == body["verify_keys"]


def test_notary_fetches_and_cosigns_remote_keys(pair: Pair) -> None:
    own = tls_get(pair.a, "/_matrix/key/v2/server").json()
    b_key = check_key_response(tls_get(pair.b, "/_matrix/key/v2/server").json(), pair.b.name)[0]
    for r in (
        tls_post(pair.b, "/_matrix/key/v2/query", {"server_keys": {pair.a.name: {}}}),
        tls_get(pair.b, f"/_matrix/key/v2/query/{pair.a.name}"),
        tls_post(pair.b, "/_matrix/key/v2/query", {
            "server_keys": {pair.a.name: {key_id(pair.a.signing_key()): {
                "minimum_valid_until_ts": int(time.time() * 1000)}}}}),
    ):
        assert r.status_code == 200, r.text
        [answer] = r.json()["server_keys"]
        assert answer["verify_keys"] == own["verify_keys"]
        check_key_response(answer, pair.a.name)  # A's own signature is kept
        verify_json(answer, pair.b.name, decode_verify_key(b_key.key_id, b_key.verify_key))


def test_notary_answers_for_itself_and_skips_unknown_servers(pair: Pair) -> None:
    r = tls_post(pair.b, "/_matrix/key/v2/query",
                 {"server_keys": {pair.b.name: {}, "not-allowed.invalid": {}}})
    assert r.status_code == 200, r.text
    assert [k["server_name"] for k in r.json()["server_keys"]] == [pair.b.name]


@pytest.mark.parametrize("body", [{}, {"server_keys": []},
                                  {"server_keys": {"x": {"k": {"minimum_valid_until_ts": -1}}}},
                                  {"server_keys": {"x": {"k": {"minimum_valid_until_ts": "1"}}}}])
def test_notary_bad_bodies(pair: Pair, body: dict[str, Any]) -> None:
    r = tls_post(pair.b, "/_matrix/key/v2/query", body)
    assert r.status_code == 400, r.text


def test_well_known_points_at_the_federation_listener(pair: Pair) -> None:
    r = httpx.get(pair.b.process.url + "/.well-known/matrix/server")
    assert r.json() == {"m.server": f"localhost:{pair.b.federation_port}"}


def test_version(pair: Pair) -> None:
    r = tls_get(pair.b, f"{F1}/version")
    assert r.status_code == 200
    assert r.json()["server"]["name"] == "Glia"


def test_profile_both_ways(pair: Pair) -> None:
    bob = pair.kit_b.register_user()
    r = pair.kit_b.request("PUT", f"/_matrix/client/v3/profile/{bob.user_id}/displayname",
                           bob.access_token, json={"displayname": "Bob B"})
    assert r.status_code == 200, r.text
    r = from_a(pair, "GET", f"{F1}/query/profile?user_id={bob.user_id}")
    assert r.status_code == 200, r.text
    assert r.json() == {"displayname": "Bob B"}
    r = from_a(pair, "GET", f"{F1}/query/profile?user_id={bob.user_id}&field=displayname")
    assert r.json() == {"displayname": "Bob B"}
    alice = pair.kit_a.register_user()
    r = from_b(pair, "GET", f"{F1}/query/profile?user_id={alice.user_id}")
    assert r.status_code == 200, r.text
    assert r.json()["displayname"] == alice.user_id.split(":")[0][1:]
    assert_error(from_a(pair, "GET", f"{F1}/query/profile?user_id=@nobody:{pair.b.name}"),
                 404, "M_NOT_FOUND")
    assert_error(from_a(pair, "GET", f"{F1}/query/profile?user_id={alice.user_id}"),
                 400, "M_INVALID_PARAM")
    # Any field may be asked for (spec v1.16); one Glia does not keep is left out.
    r = from_a(pair, "GET", f"{F1}/query/profile?user_id={bob.user_id}&field=m.tz")
    assert r.status_code == 200 and r.json() == {}, r.text
    assert_error(from_a(pair, "GET", f"{F1}/query/profile"), 400, "M_MISSING_PARAM")


def test_directory(pair: Pair) -> None:
    bob = pair.kit_b.register_user()
    room_id = create_room(pair.kit_b, bob)
    alias = f"#{unique('fed')}:{pair.b.name}"
    r = pair.kit_b.request("PUT", f"/_matrix/client/v3/directory/room/{quote(alias)}",
                           bob.access_token, json={"room_id": room_id})
    assert r.status_code == 200, r.text
    r = from_a(pair, "GET", f"{F1}/query/directory?room_alias={quote(alias)}")
    assert r.status_code == 200, r.text
    assert r.json() == {"room_id": room_id, "servers": [pair.b.name]}
    missing = f"%23nope:{pair.b.name}"
    assert_error(from_a(pair, "GET", f"{F1}/query/directory?room_alias={missing}"),
                 404, "M_NOT_FOUND")
    remote = f"%23x:{pair.a.name}"
    assert_error(from_a(pair, "GET", f"{F1}/query/directory?room_alias={remote}"),
                 400, "M_INVALID_PARAM")


def test_clients_see_remote_profiles_and_aliases(pair: Pair) -> None:
    """A user on A asks its own server about B's user and alias; A asks B in signed
    requests (B fetches A's key to check them)."""
    bob = pair.kit_b.register_user()
    r = pair.kit_b.request("PUT", f"/_matrix/client/v3/profile/{bob.user_id}/displayname",
                           bob.access_token, json={"displayname": "Bob over there"})
    assert r.status_code == 200, r.text
    room_id = create_room(pair.kit_b, bob)
    alias = f"#{unique('remote')}:{pair.b.name}"
    r = pair.kit_b.request("PUT", f"/_matrix/client/v3/directory/room/{quote(alias)}",
                           bob.access_token, json={"room_id": room_id})
    assert r.status_code == 200, r.text

    alice = pair.kit_a.register_user()
    v3 = "/_matrix/client/v3"
    r = pair.kit_a.request("GET", f"{v3}/profile/{bob.user_id}", alice.access_token)
    assert r.status_code == 200, r.text
    assert r.json() == {"displayname": "Bob over there"}
    r = pair.kit_a.request("GET", f"{v3}/profile/{bob.user_id}/displayname")
    assert r.json() == {"displayname": "Bob over there"}
    assert_error(pair.kit_a.request("GET", f"{v3}/profile/@nobody:{pair.b.name}"),
                 404, "M_NOT_FOUND")
    r = pair.kit_a.request("GET", f"{v3}/directory/room/{quote(alias)}")
    assert r.status_code == 200, r.text
    assert r.json() == {"room_id": room_id, "servers": [pair.b.name]}
    missing = quote(f"#nope-{unique()}:{pair.b.name}")
    assert_error(pair.kit_a.request("GET", f"{v3}/directory/room/{missing}"),
                 404, "M_NOT_FOUND")
    # Servers outside the allow-list are refused; one that is down is a 502.
    assert_error(pair.kit_a.request("GET", f"{v3}/profile/@x:other.invalid"),
                 403, "M_FORBIDDEN")
    assert_error(pair.kit_a.request("GET", f"{v3}/profile/@x:{pair.down_too}"),
                 502, "M_UNKNOWN")
    assert_error(pair.kit_a.request(
        "GET", f"{v3}/directory/room/{quote(f'#x:{pair.down_too}')}"), 502, "M_UNKNOWN")


def test_public_rooms(pair: Pair) -> None:
    bob = pair.kit_b.register_user()
    name = unique("public")
    room_id = create_room(pair.kit_b, bob, visibility="public", name=name)
    r = from_a(pair, "GET", f"{F1}/publicRooms?limit=500")
    assert r.status_code == 200, r.text
    assert room_id in [room["room_id"] for room in r.json()["chunk"]]
    r = from_a(pair, "POST", f"{F1}/publicRooms",
               {"filter": {"generic_search_term": name}, "limit": 5})
    assert r.status_code == 200, r.text
    assert [room["room_id"] for room in r.json()["chunk"]] == [room_id]
    assert_error(from_a(pair, "POST", f"{F1}/publicRooms", {"limit": "5"}), 400, "M_BAD_JSON")

    # A's users see B's directory through A.
    alice = pair.kit_a.register_user()
    v3 = "/_matrix/client/v3"
    r = pair.kit_a.request("GET", f"{v3}/publicRooms?server={pair.b.name}&limit=500")
    assert r.status_code == 200, r.text
    assert room_id in [room["room_id"] for room in r.json()["chunk"]]
    r = pair.kit_a.request("POST", f"{v3}/publicRooms?server={pair.b.name}",
                           alice.access_token, json={"filter": {"generic_search_term": name}})
    assert r.status_code == 200, r.text
    [entry] = r.json()["chunk"]
    assert (entry["room_id"], entry["name"]) == (room_id, name)
    assert_error(pair.kit_a.request("GET", f"{v3}/publicRooms?server=other.invalid"),
                 403, "M_FORBIDDEN")
    assert_error(pair.kit_a.request("GET", f"{v3}/publicRooms?server=not%20a%20name"),
                 400, "M_INVALID_PARAM")
    r = pair.kit_a.request("GET", f"{v3}/publicRooms?server={pair.a.name}")
    assert r.status_code == 200 and room_id not in [room["room_id"] for room in
                                                    r.json()["chunk"]]


def test_devices_and_keys(pair: Pair) -> None:
    bob = pair.kit_b.register_user()
    crypto = setup_device(pair.kit_b, bob, otks=2)
    r = from_a(pair, "GET", f"{F1}/user/devices/{bob.user_id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == bob.user_id
    assert isinstance(body["stream_id"], int)
    [device] = body["devices"]
    assert device["device_id"] == bob.device_id
    assert device["keys"]["keys"][f"ed25519:{bob.device_id}"] == crypto.public
    r = from_a(pair, "POST", f"{F1}/user/keys/query",
               {"device_keys": {bob.user_id: [], f"@x:{pair.a.name}": []}})
    assert r.status_code == 200, r.text
    assert list(r.json()["device_keys"]) == [bob.user_id]
    assert bob.device_id in r.json()["device_keys"][bob.user_id]
    wanted = {"one_time_keys": {bob.user_id: {bob.device_id: "signed_curve25519"}}}
    claimed = [from_a(pair, "POST", f"{F1}/user/keys/claim", wanted).json() for _ in range(3)]
    got = [c["one_time_keys"].get(bob.user_id, {}).get(bob.device_id, {}) for c in claimed]
    assert len(got[0]) == len(got[1]) == 1 and got[0] != got[1]
    assert got[2] == {}  # two one-time keys, no fallback key
    assert_error(from_a(pair, "POST", f"{F1}/user/keys/query", {}), 400, "M_BAD_JSON")
    assert_error(from_a(pair, "GET", f"{F1}/user/devices/@x:{pair.a.name}"),
                 400, "M_INVALID_PARAM")


def test_openid(pair: Pair) -> None:
    bob = pair.kit_b.register_user()
    r = pair.kit_b.request("POST", f"/_matrix/client/v3/user/{bob.user_id}/openid/request_token",
                           bob.access_token, json={})
    assert r.status_code == 200, r.text
    token = r.json()
    assert token["token_type"] == "Bearer" and token["matrix_server_name"] == pair.b.name
    assert token["expires_in"] == 3600
    r = tls_get(pair.b, f"{F1}/openid/userinfo?access_token={token['access_token']}")
    assert r.status_code == 200, r.text
    assert r.json() == {"sub": bob.user_id}
    assert_error(tls_get(pair.b, f"{F1}/openid/userinfo?access_token=nope"),
                 401, "M_UNKNOWN_TOKEN")
    assert_error(tls_get(pair.b, f"{F1}/openid/userinfo"), 401, "M_UNKNOWN_TOKEN")
    other = pair.kit_b.register_user()
    r = pair.kit_b.request("POST",
                           f"/_matrix/client/v3/user/{other.user_id}/openid/request_token",
                           bob.access_token, json={})
    assert_error(r, 403, "M_FORBIDDEN")
    # The access token itself is no OpenID token.
    assert_error(tls_get(pair.b, f"{F1}/openid/userinfo?access_token={bob.access_token}"),
                 401, "M_UNKNOWN_TOKEN")


def test_admin_diagnostics(pair: Pair) -> None:
    token = pair.admin_a.access_token
    r = pair.kit_a.request("GET", f"/_glia/admin/v1/federation/resolve/{pair.b.name}", token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["target"]["rule"] == "2. hostname with explicit port"
    assert body["target"]["port"] == pair.b.federation_port
    assert {"address": "127.0.0.1", "allowed": True} in body["addresses"]
    assert body["allowed_by_domain_whitelist"] is True and body["error"] is None

    r = pair.kit_a.request("GET", f"/_glia/admin/v1/federation/keys/{pair.b.name}", token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["connected_to"].endswith(f":{pair.b.federation_port}")
    assert [k["key_id"] for k in body["keys"]] == [key_id(pair.b.signing_key())]

    r = pair.kit_a.request("GET", f"/_glia/admin/v1/federation/version/{pair.b.name}", token)
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and r.json()["server"]["name"] == "Glia"

    # A destination outside the domain allow-list is reported, not contacted.
    for what in ("keys", "version"):
        r = pair.kit_a.request("GET", f"/_glia/admin/v1/federation/{what}/other.invalid",
                               token)
        assert r.status_code == 200, r.text
        assert r.json()["ok"] is False and "not allowed" in r.json()["error"]
    r = pair.kit_a.request("GET", "/_glia/admin/v1/federation/resolve/bad%20name", token)
    assert_error(r, 400, "M_INVALID_PARAM")

    r = pair.kit_a.request("GET", "/_glia/admin/v1/audit_log?action=federation.version",
                           token)
    assert r.status_code == 200, r.text
    entries = r.json()["entries"]
    assert {(e["target"], e["outcome"]) for e in entries} >= {(pair.b.name, "ok"),
                                                               ("other.invalid", "ok")}


def test_an_unreachable_destination_backs_off(pair: Pair) -> None:
    """Failures are recorded per destination, listed by the Synapse destinations API, and
    hold off further requests until the retry interval passed or reset_connection."""
    token = pair.admin_a.access_token

    def diagnose(what: str, name: str) -> dict[str, Any]:
        r = pair.kit_a.request("GET", f"/_glia/admin/v1/federation/{what}/{name}", token)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def destination(name: str) -> dict[str, Any]:
        r = pair.kit_a.request("GET", f"/_synapse/admin/v1/federation/destinations/{name}",
                               token)
        assert r.status_code == 200, r.text
        return dict(r.json())

    assert diagnose("version", pair.b.name)["ok"] is True
    assert destination(pair.b.name) == {
        "destination": pair.b.name, "retry_last_ts": 0, "retry_interval": 0,
        "failure_ts": None, "last_successful_stream_ordering": None}

    first = diagnose("version", pair.down)
    assert first["ok"] is False and "cannot reach" in first["error"]
    failed = destination(pair.down)
    assert failed["retry_interval"] == 10 * 60 * 1000
    assert failed["failure_ts"] == failed["retry_last_ts"] > 0
    # Backing off: not tried again, whatever asks.
    for what in ("version", "keys"):
        assert "backing off" in diagnose(what, pair.down)["error"]
    listed = pair.kit_a.request("GET", "/_synapse/admin/v1/federation/destinations", token)
    assert pair.down in [d["destination"] for d in listed.json()["destinations"]]

    # After the interval it is tried again, and the next interval is longer.
    pair.kit_a.advance_clock(10 * 60 * 1000 + 1)
    assert "cannot reach" in diagnose("version", pair.down)["error"]
    again = destination(pair.down)
    assert again["retry_interval"] == 50 * 60 * 1000
    assert again["failure_ts"] == failed["failure_ts"]
    assert "backing off" in diagnose("version", pair.down)["error"]

    # reset_connection: tried at once.
    r = pair.kit_a.request("POST", "/_synapse/admin/v1/federation/destinations/"
                           f"{pair.down}/reset_connection", token, json={})
    assert r.status_code == 200, r.text
    assert "cannot reach" in diagnose("version", pair.down)["error"]


def test_user_lookups_ignore_the_back_off(pair: Pair) -> None:
    """Lookups our users ask for are tried while the destination backs off, and their
    failures do not lengthen it (as in Synapse)."""
    token = pair.admin_a.access_token
    pair.kit_a.request("GET", f"/_glia/admin/v1/federation/version/{pair.down}", token)
    path = f"/_synapse/admin/v1/federation/destinations/{pair.down}"
    before = pair.kit_a.request("GET", path, token).json()
    assert before["retry_interval"] > 0, before
    alice = pair.kit_a.register_user()
    for lookup in (f"profile/@x:{pair.down}", f"directory/room/{quote(f'#x:{pair.down}')}",
                   f"publicRooms?server={pair.down}"):
        r = pair.kit_a.request("GET", f"/_matrix/client/v3/{lookup}", alice.access_token)
        assert "cannot reach" in assert_error(r, 502, "M_UNKNOWN")["error"]
    assert pair.kit_a.request("GET", path, token).json() == before


# -- hostile requests ------------------------------------------------------------------


def _profile_path(pair: Pair) -> str:
    return f"{F1}/query/profile?user_id=@x:{pair.b.name}"


def test_unsigned_and_malformed_authorization(pair: Pair) -> None:
    path = _profile_path(pair)
    with httpx.Client(verify=ssl.create_default_context(cafile=pair.b.ca_path)) as http:
        assert_error(http.get(pair.b.federation_url + path), 401, "M_UNAUTHORIZED")
        for header in ("Bearer x", "X-Matrix", 'X-Matrix origin="a b",key="ed25519:1",sig="x"',
                       'X-Matrix origin="x.invalid",key="ed25519:1"'):
            r = http.get(pair.b.federation_url + path, headers={"Authorization": header})
            assert_error(r, 401, "M_UNAUTHORIZED")


def test_bad_signature(pair: Pair) -> None:
    path = _profile_path(pair)
    header = authorization_header("GET", path, pair.a.name, pair.b.name,
                                  pair.a.signing_key())
    auth = parse_x_matrix(header)
    tampered = header.replace(auth.sig, auth.sig[:-4] + ("AAAA" if auth.sig[-4:] != "AAAA"
                                                        else "BBBB"))
    assert_error(from_a(pair, "GET", path, header=tampered), 401, "M_UNAUTHORIZED")
    assert_error(from_a(pair, "GET", path, header=header.replace(auth.sig, "!!not base64")),
                 401, "M_UNAUTHORIZED")
    # Signed for another path than the one requested.
    other = authorization_header("GET", path + "&field=displayname", pair.a.name,
                                 pair.b.name, pair.a.signing_key())
    assert_error(from_a(pair, "GET", path, header=other), 401, "M_UNAUTHORIZED")


def test_several_signatures(pair: Pair) -> None:
    """One header per key: a good one among bad ones verifies; too many are refused."""
    path = _profile_path(pair)
    good = authorization_header("GET", path, pair.a.name, pair.b.name, pair.a.signing_key())
    bad = authorization_header("GET", path, pair.a.name, pair.b.name,
                               generate_signing_key("other"))
    with httpx.Client(verify=ssl.create_default_context(cafile=pair.b.ca_path)) as http:
        r = http.get(pair.b.federation_url + path,
                     headers=[("Authorization", bad), ("Authorization", good)])
        assert_error(r, 404, "M_NOT_FOUND")  # authenticated: @x is just not a user
        r = http.get(pair.b.federation_url + path,
                     headers=[("Authorization", bad)] * 4 + [("Authorization", good)])
        assert_error(r, 401, "M_UNAUTHORIZED")


def test_wrong_destination(pair: Pair) -> None:
    r = from_a(pair, "GET", _profile_path(pair), destination=pair.a.name)
    assert_error(r, 401, "M_UNAUTHORIZED")


def test_forged_origin(pair: Pair) -> None:
    """A request claiming to come from A, signed with a key that has A's key ID but is
    not A's key."""
    impostor = generate_signing_key(pair.a.signing_key().version)
    r = signed_request(pair.a.name, impostor, pair.b, "GET", _profile_path(pair))
    assert_error(r, 401, "M_UNAUTHORIZED")
    # And A's real key claiming to be B (B's own name).
    r = signed_request(pair.b.name, pair.a.signing_key(), pair.b, "GET", _profile_path(pair))
    assert_error(r, 401, "M_UNAUTHORIZED")


def test_unknown_key(pair: Pair) -> None:
    stranger = generate_signing_key("nosuchkey")
    r = signed_request(pair.a.name, stranger, pair.b, "GET", _profile_path(pair))
    assert_error(r, 401, "M_UNAUTHORIZED")


def test_origin_outside_the_domain_allow_list(pair: Pair) -> None:
    r = signed_request("other.invalid", generate_signing_key("1"), pair.b, "GET",
                       _profile_path(pair))
    assert_error(r, 403, "M_FORBIDDEN")


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[" * 500 + b"]" * 500,
                                  b'"a string"', b"[]"])
def test_garbage_bodies(pair: Pair, body: bytes) -> None:
    path = f"{F1}/user/keys/query"
    header = authorization_header("POST", path, pair.a.name, pair.b.name,
                                  pair.a.signing_key(), {"device_keys": {}})
    with httpx.Client(verify=ssl.create_default_context(cafile=pair.b.ca_path)) as http:
        r = http.post(pair.b.federation_url + path, content=body,
                      headers={"Authorization": header, "Content-Type": "application/json"})
        assert r.status_code in (400, 401), r.text
        assert r.json()["errcode"] in ("M_NOT_JSON", "M_BAD_JSON", "M_UNAUTHORIZED")
        # Unsigned garbage is refused as unauthenticated before the body is looked at.
        r = http.post(pair.b.federation_url + path, content=body)
        assert_error(r, 401, "M_UNAUTHORIZED")


def test_signed_body_must_match(pair: Pair) -> None:
    path = f"{F1}/user/keys/query"
    header = authorization_header("POST", path, pair.a.name, pair.b.name,
                                  pair.a.signing_key(), {"device_keys": {}})
    r = from_a(pair, "POST", path, {"device_keys": {"@x:y": []}}, header=header)
    assert_error(r, 401, "M_UNAUTHORIZED")


# -- key rotation ----------------------------------------------------------------------


def test_key_rotation(pair: Pair) -> None:
    """``glia rotate-signing-key``: after a restart A signs with the new key, publishes
    the old one under old_verify_keys, and B accepts A's requests with the new key."""
    old_key = pair.a.signing_key()
    old_id = key_id(old_key)
    process = pair.a.process
    result = subprocess.run([sys.executable, "-m", "glia", "rotate-signing-key"],
                            env=process.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    new_id = key_id(pair.a.signing_key())
    assert new_id != old_id and new_id in result.stdout
    process.stop()
    process.start()
    body = tls_get(pair.a, "/_matrix/key/v2/server").json()
    assert list(body["verify_keys"]) == [new_id]
    assert list(body["old_verify_keys"]) == [old_id]
    assert body["old_verify_keys"][old_id]["expired_ts"] <= time.time() * 1000
    keys = {k.key_id: k for k in check_key_response(body, pair.a.name)}
    assert keys[old_id].expired and not keys[new_id].expired

    bob = pair.kit_b.register_user()
    path = f"{F1}/query/profile?user_id={bob.user_id}"

    def accepted() -> httpx.Response | None:
        r = from_a(pair, "GET", path)
        return r if r.status_code == 200 else None

    # B refetches A's keys at most every few seconds.
    wait_until(accepted, timeout=20, interval=0.5, what="B to accept A's new key")
    # The old key verifies events only: it no longer authenticates requests.
    assert_error(signed_request(pair.a.name, old_key, pair.b, "GET", path),
                 401, "M_UNAUTHORIZED")


def test_resolve_refuses_names_outside_the_allow_list(pair: Pair) -> None:
    """A name outside the domain allow-list is not even looked up."""
    r = pair.kit_a.request("GET", "/_glia/admin/v1/federation/resolve/other.invalid",
                           pair.admin_a.access_token)
    assert r.status_code == 200
    body = r.json()
    assert body["allowed_by_domain_whitelist"] is False
    assert body["steps"] == [] and "domain_whitelist" in body["error"]


def test_rotation_needs_a_key(tmp_path: Any, new_database_url: Callable[[], str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLIA_")}
    env.update(GLIA_DATA_DIR=str(tmp_path), GLIA_DATABASE__URL=new_database_url())
    result = subprocess.run([sys.executable, "-m", "glia", "rotate-signing-key"], env=env,
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode != 0
    assert "no signing key to rotate" in result.stderr
    assert not (tmp_path / "signing.key").exists()
