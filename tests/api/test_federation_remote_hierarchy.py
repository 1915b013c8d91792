"""The client hierarchy of a space with children on another server: A asks B (by the
child event's ``via``) for the rooms it does not have and lists what B says its users
may see, leaves out what B calls inaccessible, and skips servers that fail."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.api.test_federation_media import Servers
from tests.api.test_federation_media import s as s  # the servers (a fixture)
from tests.kit import Kit, User, assert_error, create_room


def _space(kit: Kit, user: User, name: str, **body: Any) -> str:
    return create_room(kit, user, name=name, creation_content={"type": "m.space"}, **body)


def _child(kit: Kit, user: User, space: str, child: str, via: list[str]) -> None:
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{quote(space)}/state/m.space.child/"
                    f"{quote(child)}", user.access_token, json={"via": via})
    assert r.status_code == 200, r.text


def _hierarchy(kit: Kit, user: User, room_id: str, query: str = "") -> Any:
    return kit.request("GET", f"/_matrix/client/v1/rooms/{quote(room_id)}/hierarchy{query}",
                       user.access_token)


def test_remote_children_are_asked_of_their_server(s: Servers) -> None:
    # On B: a public space with a public room and an invite-only one.
    remote_space = _space(s.kit_b, s.bob, "B space", preset="public_chat")
    public = create_room(s.kit_b, s.bob, name="B public", preset="public_chat")
    private = create_room(s.kit_b, s.bob, name="B private", preset="private_chat")
    for child in (public, private):
        _child(s.kit_b, s.bob, remote_space, child, [s.b.name])
    # On A: alice's space holding B's space, a room of a server that answers nothing
    # useful, and her own room.
    mine = _space(s.kit_a, s.alice, "A space")
    local = create_room(s.kit_a, s.alice, name="A room")
    _child(s.kit_a, s.alice, mine, remote_space, [s.b.name])
    _child(s.kit_a, s.alice, mine, f"!nowhere:{s.peer_name}", [s.peer_name])
    _child(s.kit_a, s.alice, mine, local, [s.a.name])

    r = _hierarchy(s.kit_a, s.alice, mine)
    assert r.status_code == 200, r.text
    rooms = {room["room_id"]: room for room in r.json()["rooms"]}
    assert set(rooms) == {mine, remote_space, public, local}, rooms
    assert rooms[remote_space]["name"] == "B space"
    assert rooms[remote_space]["room_type"] == "m.space"
    assert {c["state_key"] for c in rooms[remote_space]["children_state"]} == {
        public, private}
    assert rooms[public]["name"] == "B public" and rooms[public]["num_joined_members"] == 1
    assert all("allowed_room_ids" not in room for room in rooms.values())

    # Depth and paging work across the servers too.
    r = _hierarchy(s.kit_a, s.alice, mine, "?max_depth=1")
    assert {room["room_id"] for room in r.json()["rooms"]} == {mine, remote_space, local}
    seen: list[str] = []
    query = "?limit=1"
    while True:
        page = _hierarchy(s.kit_a, s.alice, mine, query).json()
        seen += [room["room_id"] for room in page["rooms"]]
        if "next_batch" not in page:
            break
        query = f"?limit=1&from={page['next_batch']}"
    assert sorted(seen) == sorted(rooms)


def test_a_space_this_server_does_not_have_is_refused_as_in_synapse(s: Servers) -> None:
    remote_space = _space(s.kit_b, s.bob, "elsewhere", preset="public_chat")
    assert_error(_hierarchy(s.kit_a, s.alice, remote_space), 403, "M_FORBIDDEN")
