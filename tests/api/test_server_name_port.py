"""A server name with a port (``example.org:8448``) works everywhere an identifier or a
server name goes (spec appendix: server name = hostname [":" port]): user and room IDs,
aliases, ``via`` and ``server_name`` query parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest

from tests.api.test_keys import Crypto
from tests.kit import Kit, create_room, send_event, unique
from tests.server import GliaProcess

V3 = "/_matrix/client/v3"
SERVER_NAME = "example.org:8448"


@pytest.fixture
def port_kit(glia_factory: Callable[..., GliaProcess]) -> Iterator[Kit]:
    server = glia_factory(server_name=SERVER_NAME)
    k = Kit(server.url)
    yield k
    k.close()


def test_ids_and_aliases_with_a_port(port_kit: Kit) -> None:
    kit = port_kit
    alice, bob = kit.register_user(), kit.register_user()
    assert alice.user_id.endswith(f":{SERVER_NAME}")
    name = unique("port")
    room_id = create_room(kit, alice, room_alias_name=name, visibility="public",
                          room_version="10")
    assert room_id.endswith(f":{SERVER_NAME}")
    alias = f"#{name}:{SERVER_NAME}"

    r = kit.request("GET", f"{V3}/directory/room/{quote(alias)}")
    assert r.status_code == 200, r.text
    assert r.json() == {"room_id": room_id, "servers": [SERVER_NAME]}
    second = f"#{unique('port')}:{SERVER_NAME}"
    r = kit.request("PUT", f"{V3}/directory/room/{quote(second)}", alice.access_token,
                    json={"room_id": room_id})
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"{V3}/rooms/{room_id}/aliases", alice.access_token)
    assert set(r.json()["aliases"]) == {alias, second}

    r = kit.request("POST", f"{V3}/join/{quote(second)}?server_name={quote(SERVER_NAME)}",
                    bob.access_token, json={})
    assert r.status_code == 200, r.text
    assert r.json() == {"room_id": room_id}
    r = kit.request("POST", f"{V3}/rooms/{room_id}/leave", bob.access_token, json={})
    assert r.status_code == 200, r.text
    r = kit.request("POST", f"{V3}/join/{quote(room_id)}?via={quote(SERVER_NAME)}",
                    bob.access_token, json={})
    assert r.status_code == 200, r.text

    r = kit.request("GET", f"{V3}/publicRooms?server={quote(SERVER_NAME)}")
    assert r.status_code == 200, r.text
    assert room_id in [c["room_id"] for c in r.json()["chunk"]]
    r = kit.request("POST", f"{V3}/publicRooms?server={quote(SERVER_NAME)}",
                    bob.access_token, json={})
    assert r.status_code == 200, r.text

    carol = kit.register_user()
    r = kit.request("POST", f"{V3}/rooms/{room_id}/invite", alice.access_token,
                    json={"user_id": carol.user_id})
    assert r.status_code == 200, r.text
    event_id = send_event(kit, alice, room_id)
    r = kit.request("GET", f"{V3}/rooms/{room_id}/event/{quote(event_id)}", bob.access_token)
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"{V3}/profile/{quote(alice.user_id)}")
    assert r.status_code == 200, r.text


def test_local_users_device_changes_with_a_port(port_kit: Kit) -> None:
    """A user on this server counts as local although the server name has a colon."""
    kit = port_kit
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    r = kit.request("POST", f"{V3}/join/{quote(room_id)}", bob.access_token, json={})
    assert r.status_code == 200, r.text
    since = kit.request("GET", f"{V3}/sync", alice.access_token).json()["next_batch"]
    r = kit.request("POST", f"{V3}/keys/upload", bob.access_token,
                    json={"device_keys": Crypto(bob).device_keys()})
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"{V3}/keys/changes?from={since}&to="
                    + kit.request("GET", f"{V3}/sync", alice.access_token).json()["next_batch"],
                    alice.access_token)
    assert r.status_code == 200, r.text
    assert bob.user_id in r.json()["changed"]
    r = kit.request("POST", f"{V3}/keys/query", alice.access_token,
                    json={"device_keys": {bob.user_id: []}})
    assert r.status_code == 200, r.text
    assert bob.device_id in r.json()["device_keys"][bob.user_id]
