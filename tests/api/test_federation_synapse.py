"""Glia and a real Synapse federating on loopback over TLS, for what needs no room joins:
each fetches and verifies the other's keys (directly and through the other's notary),
users' profiles, room aliases and public room directories are looked up both ways, a
Synapse user queries and claims a Glia user's end-to-end keys, each server's
Synapse-compatible destinations admin API lists the other, and each backs off (or, for
its users' lookups, does not) as the other fails.

Synapse is the compatibility test's pinned release, installed into its cached virtual
environment on first use; as there, a Synapse that cannot be installed or started fails
the run in CI and skips elsewhere."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from glia.protocol.signing import decode_verify_key, key_id, verify_json
from tests.api.test_keys import CrossSigning, setup_device
from tests.fed_synapse import Peers, ok
from tests.federation import FederatingServer, signed_request
from tests.kit import Kit, User, assert_error, create_room, unique, wait_until

V3 = "/_matrix/client/v3"


@pytest.fixture(scope="module")
def peers(synapse_peers: Peers) -> Peers:
    return synapse_peers


def set_profile(kit: Kit, user: User, displayname: str, avatar_url: str) -> None:
    for field, value in (("displayname", displayname), ("avatar_url", avatar_url)):
        ok(kit.request("PUT", f"{V3}/profile/{quote(user.user_id)}/{field}",
                       user.access_token, json={field: value}))


def glia_federation_get(glia: FederatingServer, path: str) -> httpx.Response:
    with httpx.Client(verify=ssl.create_default_context(cafile=glia.ca_path),
                      timeout=30) as http:
        return http.get(glia.federation_url + path)


def _verify(signed: dict[str, Any], server_name: str, keys: dict[str, str]) -> None:
    """``signed`` carries a valid signature of ``server_name`` by each of ``keys``
    (key ID → unpadded base64 public key)."""
    for kid, public in keys.items():
        verify_json(signed, server_name, decode_verify_key(kid, public))


# -- keys ------------------------------------------------------------------------------


def test_each_fetches_and_verifies_the_others_keys(peers: Peers) -> None:
    glia, synapse = peers.glia, peers.synapse
    glia_key = key_id(glia.signing_key())
    glia_public = ok(glia_federation_get(glia, "/_matrix/key/v2/server"))["verify_keys"]
    assert list(glia_public) == [glia_key]
    glia_keys = {glia_key: glia_public[glia_key]["key"]}
    own = ok(synapse.federation_get("/_matrix/key/v2/server"))
    synapse_keys = {kid: entry["key"] for kid, entry in own["verify_keys"].items()}

    # Synapse's notary fetches Glia's key from Glia (checking Glia's TLS certificate and
    # self-signature) and answers it, signed by Glia and co-signed by Synapse; then it
    # lists it from its cache (a query for all keys of a server never fetches).
    for answer in (ok(synapse.federation_post("/_matrix/key/v2/query", {"server_keys": {
                       glia.name: {glia_key: {"minimum_valid_until_ts": 0}}}})),
                   ok(synapse.federation_get(f"/_matrix/key/v2/query/{glia.name}"))):
        [response] = answer["server_keys"]
        assert response["server_name"] == glia.name
        assert {kid: entry["key"] for kid, entry in response["verify_keys"].items()} \
            == glia_keys
        _verify(response, glia.name, glia_keys)
        _verify(response, synapse.name, synapse_keys)

    # Glia's notary does the same for Synapse's keys.
    answer = ok(glia_federation_get(glia, f"/_matrix/key/v2/query/{synapse.name}"))
    [response] = answer["server_keys"]
    assert response["server_name"] == synapse.name
    assert {kid: entry["key"] for kid, entry in response["verify_keys"].items()} \
        == synapse_keys
    _verify(response, synapse.name, synapse_keys)
    _verify(response, glia.name, glia_keys)

    # Glia's diagnostics fetch and verify Synapse's keys, and ask its version.
    token = peers.admin_g.access_token
    body = ok(peers.kit_g.request("GET", f"/_glia/admin/v1/federation/keys/{synapse.name}",
                                  token))
    assert body["ok"] is True, body
    assert body["connected_to"].endswith(f":{synapse.federation_port}")
    assert [k["key_id"] for k in body["keys"]] == list(synapse_keys)
    body = ok(peers.kit_g.request(
        "GET", f"/_glia/admin/v1/federation/version/{synapse.name}", token))
    assert body["ok"] is True, body
    assert body["server"]["name"] == "Synapse"
    body = ok(peers.kit_g.request(
        "GET", f"/_glia/admin/v1/federation/resolve/{synapse.name}", token))
    assert body["target"]["rule"] == "1. IP literal"


# -- profiles --------------------------------------------------------------------------


def test_profiles_both_ways(peers: Peers) -> None:
    on_glia = peers.kit_g.register_user(unique("gp"))
    on_synapse = peers.kit_s.register_user(unique("sp"))
    set_profile(peers.kit_g, on_glia, "Gail of Glia", "mxc://glia.example/gail")
    set_profile(peers.kit_s, on_synapse, "Sam of Synapse", "mxc://synapse.example/sam")

    # Synapse asks Glia (query/profile, signed by Synapse, checked by Glia).
    path = f"{V3}/profile/{quote(on_glia.user_id)}"
    assert ok(peers.kit_s.request("GET", path, on_synapse.access_token)) == {
        "displayname": "Gail of Glia", "avatar_url": "mxc://glia.example/gail"}
    assert ok(peers.kit_s.request("GET", f"{path}/displayname",
                                  on_synapse.access_token)) == {"displayname": "Gail of Glia"}
    assert ok(peers.kit_s.request("GET", f"{path}/avatar_url", on_synapse.access_token)) \
        == {"avatar_url": "mxc://glia.example/gail"}
    # Glia asks Synapse.
    path = f"{V3}/profile/{quote(on_synapse.user_id)}"
    assert ok(peers.kit_g.request("GET", path, on_glia.access_token)) == {
        "displayname": "Sam of Synapse", "avatar_url": "mxc://synapse.example/sam"}
    assert ok(peers.kit_g.request("GET", f"{path}/displayname", on_glia.access_token)) \
        == {"displayname": "Sam of Synapse"}

    # A field of spec v1.16 Glia does not keep (``m.tz``): Glia answers
    # ``query/profile?field=m.tz`` with the profile without it, as the spec says for a
    # field that is not set (it used to refuse the query with a 400), and Synapse's
    # client sees the field unset.
    asked = signed_request(peers.synapse.name, peers.synapse.signing_key(), peers.glia, "GET",
                           f"/_matrix/federation/v1/query/profile?user_id="
                           f"{quote(on_glia.user_id)}&field=m.tz")
    assert ok(asked) == {}
    assert ok(peers.kit_s.request("GET", f"{V3}/profile/{quote(on_glia.user_id)}/m.tz",
                                  on_synapse.access_token)).get("m.tz") is None

    # Users that do not exist: each server's 404 reaches the other's client.
    assert_error(peers.kit_s.request(
        "GET", f"{V3}/profile/{quote(f'@nobody:{peers.glia.name}')}",
        on_synapse.access_token), 404, "M_NOT_FOUND")
    assert_error(peers.kit_g.request(
        "GET", f"{V3}/profile/{quote(f'@nobody:{peers.synapse.name}')}",
        on_glia.access_token), 404, "M_NOT_FOUND")


# -- room directory --------------------------------------------------------------------


def _public_room(kit: Kit, user: User, localpart: str, name: str) -> str:
    return create_room(kit, user, visibility="public", preset="public_chat", name=name,
                       room_alias_name=localpart, room_version="10")


def test_aliases_both_ways(peers: Peers) -> None:
    on_glia = peers.kit_g.register_user(unique("ga"))
    on_synapse = peers.kit_s.register_user(unique("sa"))
    local = unique("alias")
    glia_room = _public_room(peers.kit_g, on_glia, local, "Glia alias room")
    synapse_room = _public_room(peers.kit_s, on_synapse, local, "Synapse alias room")

    alias = quote(f"#{local}:{peers.glia.name}")
    body = ok(peers.kit_s.request("GET", f"{V3}/directory/room/{alias}",
                                  on_synapse.access_token))
    assert body["room_id"] == glia_room and body["servers"] == [peers.glia.name]
    alias = quote(f"#{local}:{peers.synapse.name}")
    body = ok(peers.kit_g.request("GET", f"{V3}/directory/room/{alias}",
                                  on_glia.access_token))
    assert body["room_id"] == synapse_room and body["servers"] == [peers.synapse.name]

    missing = unique("missing")
    assert_error(peers.kit_s.request(
        "GET", f"{V3}/directory/room/{quote(f'#{missing}:{peers.glia.name}')}",
        on_synapse.access_token), 404, "M_NOT_FOUND")
    assert_error(peers.kit_g.request(
        "GET", f"{V3}/directory/room/{quote(f'#{missing}:{peers.synapse.name}')}",
        on_glia.access_token), 404, "M_NOT_FOUND")


def test_public_room_directories_both_ways(peers: Peers) -> None:
    on_glia = peers.kit_g.register_user(unique("gd"))
    on_synapse = peers.kit_s.register_user(unique("sd"))
    # Names beyond ASCII: the search terms travel in signed JSON bodies both ways.
    glia_name, synapse_name = unique("Glia café ☕ "), unique("Synapse Straße ✓ ")
    glia_room = _public_room(peers.kit_g, on_glia, unique("gpub"), glia_name)
    synapse_room = _public_room(peers.kit_s, on_synapse, unique("spub"), synapse_name)

    def listed(kit: Kit, user: User, server: str) -> dict[str, dict[str, Any]]:
        body = ok(kit.request("GET", f"{V3}/publicRooms?server={quote(server)}&limit=100",
                              user.access_token))
        return {room["room_id"]: room for room in body["chunk"]}

    def searched(kit: Kit, user: User, server: str, term: str) -> list[dict[str, Any]]:
        body = ok(kit.request("POST", f"{V3}/publicRooms?server={quote(server)}",
                              user.access_token,
                              json={"filter": {"generic_search_term": term}, "limit": 10}))
        return list(body["chunk"])

    # Synapse's users list Glia's directory (Synapse asks Glia's publicRooms).
    entry = listed(peers.kit_s, on_synapse, peers.glia.name)[glia_room]
    assert entry["name"] == glia_name and entry["num_joined_members"] == 1
    assert entry["canonical_alias"].endswith(f":{peers.glia.name}")
    [found] = searched(peers.kit_s, on_synapse, peers.glia.name, glia_name)
    assert found["room_id"] == glia_room
    # Glia's users list Synapse's.
    entry = listed(peers.kit_g, on_glia, peers.synapse.name)[synapse_room]
    assert entry["name"] == synapse_name and entry["num_joined_members"] == 1
    assert entry["canonical_alias"].endswith(f":{peers.synapse.name}")
    [found] = searched(peers.kit_g, on_glia, peers.synapse.name, synapse_name)
    assert found["room_id"] == synapse_room


def test_public_room_directories_page_both_ways(peers: Peers) -> None:
    """``since`` tokens travel: each server pages through the other's directory one room
    at a time, with the other's own tokens, and sees every room once."""
    on_glia = peers.kit_g.register_user(unique("gn"))
    on_synapse = peers.kit_s.register_user(unique("sn"))
    mine = {
        "glia": {_public_room(peers.kit_g, on_glia, unique("gpage"), unique("G page "))
                 for _ in range(3)},
        "synapse": {_public_room(peers.kit_s, on_synapse, unique("spage"), unique("S page "))
                    for _ in range(3)}}

    def pages(kit: Kit, user: User, server: str) -> list[str]:
        seen: list[str] = []
        since: str | None = None
        for _ in range(100):
            query = f"server={quote(server)}&limit=1" + (f"&since={quote(since)}"
                                                          if since else "")
            body = ok(kit.request("GET", f"{V3}/publicRooms?{query}", user.access_token))
            assert len(body["chunk"]) <= 1, body
            seen += [room["room_id"] for room in body["chunk"]]
            since = body.get("next_batch")
            if not since:
                return seen
        raise AssertionError(f"no end after 100 pages: {seen}")

    for kit, user, server, theirs in (
            (peers.kit_s, on_synapse, peers.glia.name, mine["glia"]),
            (peers.kit_g, on_glia, peers.synapse.name, mine["synapse"])):
        seen = pages(kit, user, server)
        assert len(seen) == len(set(seen)), seen
        assert theirs <= set(seen), (theirs, seen)


def test_one_users_failed_lookup_does_not_stop_the_others(peers: Peers) -> None:
    """Synapse answers ``500`` to a directory token it cannot read. A lookup a user asks
    for is tried whatever the destination's back-off and its failure does not start one
    (as Synapse does for profiles, aliases and directories): otherwise any user could cut
    everyone off from a server for ten minutes with one bad request."""
    on_glia = peers.kit_g.register_user(unique("gf"))
    on_synapse = peers.kit_s.register_user(unique("sf"))
    for _ in range(2):
        r = peers.kit_g.request(
            "GET", f"{V3}/publicRooms?server={quote(peers.synapse.name)}&since=garbage",
            on_glia.access_token)
        assert_error(r, 502, "M_UNKNOWN")
        assert "HTTP 500" in r.json()["error"]
    assert _destination(peers.kit_g, peers.admin_g, peers.synapse.name)["retry_interval"] == 0
    body = ok(peers.kit_g.request("GET", f"{V3}/profile/{quote(on_synapse.user_id)}",
                                  on_glia.access_token))
    assert body["displayname"] == on_synapse.user_id[1:].split(":")[0]


# -- end-to-end keys -------------------------------------------------------------------


def test_synapse_user_queries_and_claims_a_glia_users_keys(peers: Peers) -> None:
    on_glia = peers.kit_g.register_user(unique("gk"))
    crypto = setup_device(peers.kit_g, on_glia, otks=2)
    uploaded = crypto.device_keys()  # a fresh signature over new curve25519 keys
    ok(peers.kit_g.request("POST", f"{V3}/keys/upload", on_glia.access_token,
                           json={"device_keys": uploaded}))
    cross_signing = CrossSigning(on_glia).upload_body()
    ok(peers.kit_g.request("POST", f"{V3}/keys/device_signing/upload", on_glia.access_token,
                           json=cross_signing))
    on_synapse = peers.kit_s.register_user(unique("sk"))

    body = ok(peers.kit_s.request("POST", f"{V3}/keys/query", on_synapse.access_token,
                                  json={"device_keys": {on_glia.user_id: []}}))
    assert body["failures"] == {}, body
    device = body["device_keys"][on_glia.user_id][on_glia.device_id]
    assert {k: device[k] for k in uploaded} == uploaded
    for field in ("master_key", "self_signing_key"):
        key = body[f"{field}s"][on_glia.user_id]
        assert {k: key[k] for k in cross_signing[field]} == cross_signing[field]
    # A user-signing key is for its owner only.
    assert on_glia.user_id not in body.get("user_signing_keys", {})

    # A second device; asking for one device by ID answers just that one.
    other = peers.kit_g.login(on_glia.user_id, on_glia.password)
    setup_device(peers.kit_g, other)
    for wanted in ([on_glia.device_id], [other.device_id], [unique("NODEVICE")]):
        body = ok(peers.kit_s.request("POST", f"{V3}/keys/query", on_synapse.access_token,
                                      json={"device_keys": {on_glia.user_id: wanted}}))
        assert body["failures"] == {}, body
        known = {on_glia.device_id, other.device_id}
        assert set(body["device_keys"].get(on_glia.user_id, {})) == set(wanted) & known

    body = ok(peers.kit_s.request(
        "POST", f"{V3}/keys/claim", on_synapse.access_token,
        json={"one_time_keys": {on_glia.user_id: {on_glia.device_id: "signed_curve25519"}}}))
    assert body["failures"] == {}, body
    [(kid, key)] = body["one_time_keys"][on_glia.user_id][on_glia.device_id].items()
    assert kid.startswith("signed_curve25519:")
    assert set(key) == {"key", "signatures"}
    # The claim was Glia's: one of the two keys is gone.
    counts = ok(peers.kit_g.request("POST", f"{V3}/keys/upload", on_glia.access_token,
                                    json={}))["one_time_key_counts"]
    assert counts["signed_curve25519"] == 1


# -- destinations ----------------------------------------------------------------------


def _destination(kit: Kit, admin: User, name: str) -> dict[str, Any]:
    return ok(kit.request("GET", f"/_synapse/admin/v1/federation/destinations/{quote(name)}",
                          admin.access_token))


def _listed(kit: Kit, admin: User) -> list[str]:
    body = ok(kit.request("GET", "/_synapse/admin/v1/federation/destinations?limit=100",
                          admin.access_token))
    return [d["destination"] for d in body["destinations"]]


def _sent_events(peers: Peers) -> int | None:
    """What ``last_successful_stream_ordering`` is before any room test ran: ``None``,
    no room event sent yet; the room tests (sharing the servers) may have run first."""
    stream: int | None = _destination(peers.kit_g, peers.admin_g, peers.synapse.name
                                      )["last_successful_stream_ordering"]
    assert stream is None or isinstance(stream, int)
    return stream


def test_glia_lists_synapse_as_a_destination(peers: Peers) -> None:
    on_glia = peers.kit_g.register_user(unique("gl"))
    ok(peers.kit_g.request("GET", f"{V3}/publicRooms?server={quote(peers.synapse.name)}",
                           on_glia.access_token))
    assert peers.synapse.name in _listed(peers.kit_g, peers.admin_g)
    assert _destination(peers.kit_g, peers.admin_g, peers.synapse.name) == {
        "destination": peers.synapse.name, "retry_last_ts": 0, "retry_interval": 0,
        "failure_ts": None, "last_successful_stream_ordering": _sent_events(peers)}


def test_synapse_lists_glia_after_it_was_down_and_back(peers: Peers) -> None:
    """Synapse lists a destination once it failed or was sent room events; with no room
    shared, it lists Glia after Glia was unreachable for a moment (a restart). It then
    backs off from Glia (for the key queries that respect back-off) until its
    ``reset_connection``; after that Glia answers again, with the keys Synapse cached
    before (Glia keeps its signing key over the restart)."""
    on_glia = peers.kit_g.register_user(unique("gr"))
    setup_device(peers.kit_g, on_glia)
    on_synapse = peers.kit_s.register_user(unique("sr"))

    def query() -> dict[str, Any]:
        return ok(peers.kit_s.request("POST", f"{V3}/keys/query", on_synapse.access_token,
                                      json={"device_keys": {on_glia.user_id: []}}))

    assert on_glia.device_id in query()["device_keys"][on_glia.user_id]
    # Unlisted, unless the room tests (which share this Synapse) ran first: not failing.
    if peers.glia.name in _listed(peers.kit_s, peers.admin_s):
        assert _destination(peers.kit_s, peers.admin_s, peers.glia.name)["failure_ts"] is None

    peers.glia.process.stop()
    try:
        assert peers.glia.name in query()["failures"]
    finally:
        peers.glia.process.start()
    # Synapse records the failure after answering.
    down = wait_until(lambda: peers.glia.name in _listed(peers.kit_s, peers.admin_s)
                      and _destination(peers.kit_s, peers.admin_s, peers.glia.name)
                      .get("failure_ts") and _destination(peers.kit_s, peers.admin_s,
                                                          peers.glia.name),
                      what="Synapse to list Glia as failing")
    assert down["failure_ts"] and down["retry_last_ts"] and down["retry_interval"] > 0
    # Glia is back, but Synapse does not ask yet.
    assert peers.glia.name in query()["failures"]

    ok(peers.kit_s.request("POST", "/_synapse/admin/v1/federation/destinations/"
                           f"{quote(peers.glia.name)}/reset_connection",
                           peers.admin_s.access_token, json={}))
    reset = _destination(peers.kit_s, peers.admin_s, peers.glia.name)
    assert reset == {
        "destination": peers.glia.name, "retry_last_ts": 0, "retry_interval": 0,
        "failure_ts": None,
        "last_successful_stream_ordering": reset["last_successful_stream_ordering"]}
    assert (reset["last_successful_stream_ordering"] is None) == (_sent_events(peers) is None)
    body = query()
    assert body["failures"] == {}, body
    assert on_glia.device_id in body["device_keys"][on_glia.user_id]
