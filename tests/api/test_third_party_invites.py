"""Third-party invites (client-server spec, "Third-party invites": ``/invite`` with
``id_server``, ``id_access_token``, ``medium``, ``address``) and binding 3PIDs at an
identity server (``/account/3pid/bind`` and ``/unbind``), against a small identity
server on loopback (tests/api/identity_server.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from glia.protocol.signing import parse_signing_keys, verify_json, verify_key_of
from tests.api.identity_server import ACCESS_TOKEN, PUBLIC_KEY, IdentityServer
from tests.kit import Kit, User, assert_error, create_room, unique
from tests.server import GliaProcess

V3 = "/_matrix/client/v3"


@pytest.fixture(scope="module")
def identity() -> Iterator[IdentityServer]:
    server = IdentityServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def glia_is(new_database_url: Callable[[], str]) -> Iterator[GliaProcess]:
    """A server allowed to reach identity servers on loopback, over http."""
    server = GliaProcess(new_database_url(), {
        "GLIA_IDENTITY_SERVER__ALLOW_PRIVATE": "true",
        "GLIA_IDENTITY_SERVER__PLAIN_HTTP": "true"}).start()
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-5000:]


@pytest.fixture(scope="module")
def is_kit(glia_is: GliaProcess) -> Iterator[Kit]:
    kit = Kit(glia_is.url)
    yield kit
    kit.close()


def invite(kit: Kit, user: User, room_id: str, identity: IdentityServer, address: str,
           **extra: Any) -> Any:
    body = {"id_server": identity.name, "id_access_token": ACCESS_TOKEN, "medium": "email",
            "address": address, **extra}
    return kit.request("POST", f"{V3}/rooms/{room_id}/invite", user.access_token, json=body)


def test_invite_of_an_unknown_address_stores_it_at_the_identity_server(
        is_kit: Kit, identity: IdentityServer) -> None:
    kit = is_kit
    alice = kit.register_user()
    r = kit.request("PUT", f"{V3}/profile/{alice.user_id}/displayname", alice.access_token,
                    json={"displayname": "Alice"})
    assert r.status_code == 200
    room = create_room(kit, alice, name="Tea room")
    address = f"{unique('b')}@example.org"
    r = invite(kit, alice, room, identity, address.upper())
    assert r.status_code == 200 and r.json() == {}, r.text

    stored = [b for m, p, _, b in identity.requests
              if p == "/_matrix/identity/v2/store-invite" and b["room_id"] == room]
    assert len(stored) == 1
    assert stored[0]["address"] == address and stored[0]["medium"] == "email"
    assert stored[0]["sender"] == alice.user_id
    assert stored[0]["room_name"] == "Tea room"
    assert stored[0]["sender_display_name"] == "Alice"

    r = kit.request("GET", f"{V3}/rooms/{room}/state", alice.access_token)
    [event] = [e for e in r.json() if e["type"] == "m.room.third_party_invite"]
    assert event["state_key"].startswith("invite-")
    assert event["sender"] == alice.user_id
    content = event["content"]
    assert content["display_name"] == "a...@e..."
    assert content["public_key"] == PUBLIC_KEY
    assert content["key_validity_url"].endswith("/_matrix/identity/v2/pubkey/isvalid")
    assert content["public_keys"] == [{"public_key": PUBLIC_KEY,
                                       "key_validity_url": content["key_validity_url"]}]


def test_invite_of_a_bound_address_invites_its_user(is_kit: Kit,
                                                    identity: IdentityServer) -> None:
    kit = is_kit
    alice, bob = kit.register_user(), kit.register_user()
    address = f"{unique('bob')}@example.org"
    identity.bindings[("email", address)] = bob.user_id
    room = create_room(kit, alice)
    r = invite(kit, alice, room, identity, address)
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"{V3}/rooms/{room}/state/m.room.member/{bob.user_id}",
                    alice.access_token)
    assert r.status_code == 200 and r.json()["membership"] == "invite", r.text
    r = kit.request("GET", f"{V3}/rooms/{room}/state", alice.access_token)
    assert not [e for e in r.json() if e["type"] == "m.room.third_party_invite"]


def test_third_party_invite_refusals(is_kit: Kit, kit: Kit,
                                     identity: IdentityServer) -> None:
    alice, carol = is_kit.register_user(), is_kit.register_user()
    room = create_room(is_kit, alice, preset="public_chat",
                       power_level_content_override={"invite": 100})
    address = f"{unique('x')}@example.org"
    # Not in the room.
    assert_error(invite(is_kit, carol, room, identity, address), 403, "M_FORBIDDEN")
    # In it, without the power to invite: no m.room.third_party_invite.
    r = is_kit.request("POST", f"{V3}/join/{room}", carol.access_token, json={})
    assert r.status_code == 200, r.text
    assert_error(invite(is_kit, carol, room, identity, address), 403, "M_FORBIDDEN")
    # Neither a user nor a whole 3PID; no identity-server token.
    r = is_kit.request("POST", f"{V3}/rooms/{room}/invite", alice.access_token,
                       json={"medium": "email", "address": address})
    assert_error(r, 400, "M_MISSING_PARAM")
    r = is_kit.request("POST", f"{V3}/rooms/{room}/invite", alice.access_token, json={
        "id_server": identity.name, "medium": "email", "address": address})
    assert_error(r, 400, "M_MISSING_PARAM")
    assert_error(invite(is_kit, alice, room, identity, address, id_server="not a host"),
                 400, "M_INVALID_PARAM")
    # The identity server refuses the token: its failure, not the request's.
    assert_error(invite(is_kit, alice, room, identity, address, id_access_token="wrong"),
                 502, "M_UNKNOWN")
    # A server not allowed to reach private addresses never calls a loopback one.
    before = len(identity.requests)
    user = kit.register_user()
    private_room = create_room(kit, user)
    assert_error(invite(kit, user, private_room, identity, address), 502, "M_UNKNOWN")
    assert len(identity.requests) == before


def _verify_x_matrix(glia: GliaProcess, identity: IdentityServer, headers: dict[str, str],
                     body: Any) -> None:
    """The unbind request is signed by the homeserver's key (X-Matrix)."""
    params = dict(re.findall(r'(\w+)="?([^",]+)"?', headers["authorization"]
                             .removeprefix("X-Matrix ")))
    assert params["origin"] == glia.server_name and params["destination"] == identity.name
    [key] = parse_signing_keys((glia.data_dir / "signing.key").read_text())
    signed = {"method": "POST", "uri": "/_matrix/identity/v2/3pid/unbind",
              "origin": glia.server_name, "destination": identity.name, "content": body,
              "signatures": {glia.server_name: {params["key"]: params["sig"]}}}
    verify_json(signed, glia.server_name, verify_key_of(key))


def test_bind_and_unbind(is_kit: Kit, glia_is: GliaProcess,
                         identity: IdentityServer) -> None:
    kit = is_kit
    user = kit.register_user()
    address, sid, client_secret = f"{unique('c')}@example.org", unique("sid"), "s3cret"
    identity.sessions[sid] = (client_secret, "email", address)
    bind = {"client_secret": client_secret, "id_server": identity.name,
            "id_access_token": ACCESS_TOKEN, "sid": sid}
    r = kit.request("POST", f"{V3}/account/3pid/bind", user.access_token, json=bind)
    assert r.status_code == 200 and r.json() == {}, r.text
    assert identity.bindings[("email", address)] == user.user_id
    # A session the identity server did not validate: its refusal is passed on.
    r = kit.request("POST", f"{V3}/account/3pid/bind", user.access_token,
                    json={**bind, "sid": "unknown"})
    assert_error(r, 400, "M_NO_VALID_SESSION")

    r = kit.request("POST", f"{V3}/account/3pid/unbind", user.access_token,
                    json={"medium": "email", "address": address})
    assert r.status_code == 200, r.text
    assert r.json() == {"id_server_unbind_result": "success"}
    assert ("email", address) not in identity.bindings
    [(_, _, headers, body)] = [q for q in identity.requests
                               if q[1] == "/_matrix/identity/v2/3pid/unbind"
                               and q[3]["mxid"] == user.user_id]
    assert body == {"mxid": user.user_id, "threepid": {"medium": "email",
                                                       "address": address}}
    _verify_x_matrix(glia_is, identity, headers, body)
    # Nothing bound any more, and no identity server named: nothing to do.
    r = kit.request("POST", f"{V3}/account/3pid/unbind", user.access_token,
                    json={"medium": "email", "address": address})
    assert r.json() == {"id_server_unbind_result": "no-support"}
    # An identity server that does not support unbinding.
    identity.unbind_status = 404
    try:
        r = kit.request("POST", f"{V3}/account/3pid/unbind", user.access_token, json={
            "medium": "email", "address": address, "id_server": identity.name})
        assert r.json() == {"id_server_unbind_result": "no-support"}
    finally:
        identity.unbind_status = 200


def bind(kit: Kit, user: User, identity: IdentityServer, address: str) -> None:
    """Bind ``address`` to ``user`` at ``identity`` through Glia."""
    sid = unique("sid")
    identity.sessions[sid] = ("s3cret", "email", address)
    r = kit.request("POST", f"{V3}/account/3pid/bind", user.access_token, json={
        "client_secret": "s3cret", "id_server": identity.name,
        "id_access_token": ACCESS_TOKEN, "sid": sid})
    assert r.status_code == 200, r.text
    assert identity.bindings[("email", address)] == user.user_id


def deactivate(kit: Kit, user: User, **extra: Any) -> Any:
    auth = {"type": "m.login.password", "password": user.password,
            "identifier": {"type": "m.id.user", "user": user.user_id}}
    return kit.request("POST", f"{V3}/account/deactivate", user.access_token,
                       json={"auth": auth, **extra})


def unbind_requests(identity: IdentityServer, user: User) -> list[tuple[dict[str, str], Any]]:
    return [(headers, body) for _, path, headers, body in identity.requests
            if path == "/_matrix/identity/v2/3pid/unbind" and body["mxid"] == user.user_id]


def assert_deactivated(kit: Kit, user: User) -> None:
    assert_error(kit.request("GET", f"{V3}/account/whoami", user.access_token), 401,
                 "M_UNKNOWN_TOKEN")


def test_deactivation_unbinds_every_bound_3pid(is_kit: Kit, glia_is: GliaProcess,
                                               identity: IdentityServer) -> None:
    """The spec: deactivation unbinds the user's 3PIDs from the identity server each was
    bound at, and answers ``success`` when all were unbound."""
    kit = is_kit
    user = kit.register_user()
    addresses = sorted(f"{unique(n)}@example.org" for n in ("d", "e"))
    for address in addresses:
        bind(kit, user, identity, address)
    r = deactivate(kit, user)
    assert r.status_code == 200 and r.json() == {"id_server_unbind_result": "success"}, r.text
    assert_deactivated(kit, user)
    for address in addresses:
        assert ("email", address) not in identity.bindings
    sent = unbind_requests(identity, user)
    assert sorted(body["threepid"]["address"] for _, body in sent) == addresses
    for headers, body in sent:
        _verify_x_matrix(glia_is, identity, headers, body)


def test_deactivation_with_failed_unbinds_says_no_support(
        is_kit: Kit, identity: IdentityServer) -> None:
    kit = is_kit
    # A bad id_server is refused before anything happens.
    user = kit.register_user()
    assert_error(deactivate(kit, user, id_server="not a host"), 400, "M_INVALID_PARAM")
    assert kit.request("GET", f"{V3}/account/whoami", user.access_token).status_code == 200
    # Nothing bound: nothing to unbind, which the spec says is a success.
    r = deactivate(kit, user, id_server=identity.name)
    assert r.status_code == 200 and r.json() == {"id_server_unbind_result": "success"}, r.text
    assert unbind_requests(identity, user) == []

    # An identity server that does not support unbinding: the account is still
    # deactivated, and the answer says the unbind failed.
    alice = kit.register_user()
    address = f"{unique('f')}@example.org"
    bind(kit, alice, identity, address)
    identity.unbind_status = 501
    try:
        r = deactivate(kit, alice)
    finally:
        identity.unbind_status = 200
    assert r.status_code == 200 and r.json() == {"id_server_unbind_result": "no-support"}, \
        r.text
    assert_deactivated(kit, alice)
    assert len(unbind_requests(identity, alice)) == 1

    # One that cannot be reached any more: the same (a user who wants to leave is not
    # held by a server that is gone), while the one still there is unbound.
    bob, gone = kit.register_user(), IdentityServer()
    kept, lost = f"{unique('g')}@example.org", f"{unique('h')}@example.org"
    bind(kit, bob, identity, kept)
    bind(kit, bob, gone, lost)
    gone.close()
    r = deactivate(kit, bob)
    assert r.status_code == 200 and r.json() == {"id_server_unbind_result": "no-support"}, \
        r.text
    assert_deactivated(kit, bob)
    assert ("email", kept) not in identity.bindings


def test_admin_deactivation_unbinds(is_kit: Kit, identity: IdentityServer) -> None:
    kit = is_kit
    admin, user = kit.make_admin(), kit.register_user()
    address = f"{unique('i')}@example.org"
    bind(kit, user, identity, address)
    r = kit.request("POST", f"/_synapse/admin/v1/deactivate/{user.user_id}",
                    admin.access_token, json={})
    assert r.status_code == 200 and r.json()["id_server_unbind_result"] == "success", r.text
    assert ("email", address) not in identity.bindings
    assert len(unbind_requests(identity, user)) == 1
