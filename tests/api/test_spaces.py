"""Space hierarchies over real HTTP: the client's ``/v1/rooms/{roomId}/hierarchy`` with
the spec's visibility rules, ordering, depth, suggested-only and pagination, and the
admin API's walk of every local room."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User, assert_error, create_room, unique

C = "/_matrix/client/v3"
HIERARCHY = "/_matrix/client/v1/rooms/{}/hierarchy"
ADMIN_HIERARCHY = "/_synapse/admin/v1/rooms/{}/hierarchy"


def _q(value: str) -> str:
    return quote(value, safe="")


def space(kit: Kit, owner: User, **body: Any) -> str:
    return create_room(kit, owner, creation_content={"type": "m.space"}, **body)


def add_child(kit: Kit, owner: User, parent: str, child: str, **content: Any) -> None:
    content.setdefault("via", ["localhost"])
    r = kit.request("PUT", f"{C}/rooms/{_q(parent)}/state/m.space.child/{_q(child)}",
                    owner.access_token, json=content)
    assert r.status_code == 200, r.text


def set_state(kit: Kit, owner: User, room_id: str, event_type: str,
              content: dict[str, Any]) -> None:
    r = kit.request("PUT", f"{C}/rooms/{_q(room_id)}/state/{event_type}/", owner.access_token,
                    json=content)
    assert r.status_code == 200, r.text


def hierarchy(kit: Kit, user: User, room_id: str, query: str = "",
              admin: bool = False) -> dict[str, Any]:
    path = (ADMIN_HIERARCHY if admin else HIERARCHY).format(_q(room_id))
    r = kit.request("GET", f"{path}?{query}", user.access_token)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [room["room_id"] for room in body["rooms"]]


def walk(kit: Kit, user: User, room_id: str, query: str, admin: bool = False
         ) -> list[str]:
    """Every page of a walk, following ``next_batch``."""
    seen: list[str] = []
    token = None
    while True:
        page = hierarchy(kit, user, room_id,
                         query + (f"&from={_q(token)}" if token else ""), admin)
        seen += ids(page)
        token = page.get("next_batch")
        if token is None:
            return seen


class Tree:
    """root (public space)
         ├─ public   (order " ", suggested)
         ├─ private  (invite only; alice is in it)
         ├─ sub      (public space, order "b")      ── public2, and root again (a loop)
         ├─ knock    (knock join rule)
         ├─ readable (world-readable history)
         ├─ gone     (child event without via: not a child)
         └─ restricted (members of root may join)
    """

    def __init__(self, kit: Kit) -> None:
        self.alice = kit.register_user()
        a = self.alice
        self.root = space(kit, a, preset="public_chat", name="Root",
                          topic="The root space")
        self.public = create_room(kit, a, preset="public_chat", name="Public")
        self.private = create_room(kit, a, preset="private_chat", name="Private")
        self.sub = space(kit, a, preset="public_chat", name="Sub")
        self.public2 = create_room(kit, a, preset="public_chat")
        self.knock = create_room(kit, a, preset="private_chat")
        set_state(kit, a, self.knock, "m.room.join_rules", {"join_rule": "knock"})
        self.readable = create_room(kit, a, preset="private_chat")
        set_state(kit, a, self.readable, "m.room.history_visibility",
                  {"history_visibility": "world_readable"})
        self.gone = create_room(kit, a, preset="public_chat")
        self.restricted = create_room(kit, a, preset="private_chat")
        set_state(kit, a, self.restricted, "m.room.join_rules", {
            "join_rule": "restricted",
            "allow": [{"type": "m.room_membership", "room_id": self.root}]})

        add_child(kit, a, self.root, self.public, order=" ", suggested=True)
        add_child(kit, a, self.root, self.private)
        add_child(kit, a, self.root, self.sub, order="b")
        add_child(kit, a, self.root, self.knock)
        add_child(kit, a, self.root, self.readable)
        add_child(kit, a, self.root, self.gone)
        add_child(kit, a, self.root, self.gone, via=[])
        add_child(kit, a, self.root, self.restricted)
        add_child(kit, a, self.sub, self.public2, suggested=True)
        add_child(kit, a, self.sub, self.root)

        # Root's children without an order come after the others, by the timestamp of
        # their child event, then by room ID.
        children = hierarchy(kit, a, self.root, "max_depth=0")["rooms"][0]["children_state"]
        rest = [c for c in children if "order" not in c["content"]]
        assert [c["state_key"] for c in children[:2]] == [self.public, self.sub]
        assert rest == sorted(rest, key=lambda c: (c["origin_server_ts"], c["state_key"]))
        self.unordered = [c["state_key"] for c in rest]
        assert sorted(self.unordered) == sorted(
            [self.private, self.knock, self.readable, self.restricted])


def test_hierarchy_of_a_member(kit: Kit) -> None:
    t = Tree(kit)
    body = hierarchy(kit, t.alice, t.root)
    assert "next_batch" not in body
    # Depth first: ordered children first (" " before "b"), sub's children inside it.
    assert ids(body) == [t.root, t.public, t.sub, t.public2, *t.unordered]

    root = body["rooms"][0]
    assert {k: v for k, v in root.items() if k != "children_state"} == {
        "room_id": t.root, "name": "Root", "topic": "The root space",
        "num_joined_members": 1, "join_rule": "public", "world_readable": False,
        "guest_can_join": False, "room_type": "m.space", "room_version": "12",
    }
    children = root["children_state"]
    assert [c["state_key"] for c in children] == [t.public, t.sub, *t.unordered]
    first = children[0]
    assert set(first) == {"type", "state_key", "content", "sender", "origin_server_ts"}
    assert first["type"] == "m.space.child" and first["sender"] == t.alice.user_id
    assert first["content"] == {"via": ["localhost"], "order": " ", "suggested": True}
    assert isinstance(first["origin_server_ts"], int)
    # A room that is not a space lists no children.
    public = body["rooms"][1]
    assert public["children_state"] == [] and "room_type" not in public
    assert public["name"] == "Public"
    private = body["rooms"][ids(body).index(t.private)]
    assert private["join_rule"] == "invite"


def test_visibility_for_others(kit: Kit) -> None:
    t = Tree(kit)
    bob, carol = kit.register_user(), kit.register_user()
    r = kit.request("POST", f"{C}/join/{_q(t.root)}", bob.access_token, json={})
    assert r.status_code == 200, r.text
    # Bob is in root, so the restricted room admits him; the private room stays hidden.
    assert ids(hierarchy(kit, bob, t.root)) == [
        t.root, t.public, t.sub, t.public2, t.knock, t.readable, t.restricted]
    assert ids(hierarchy(kit, carol, t.root)) == [
        t.root, t.public, t.sub, t.public2, t.knock, t.readable]
    # An invite makes a room visible.
    r = kit.request("POST", f"{C}/rooms/{_q(t.private)}/invite", t.alice.access_token,
                    json={"user_id": carol.user_id})
    assert r.status_code == 200, r.text
    assert t.private in ids(hierarchy(kit, carol, t.root))
    # The root itself must be visible to the requester.
    assert_error(kit.request("GET", HIERARCHY.format(_q(t.private)), bob.access_token),
                 403, "M_FORBIDDEN")
    body = assert_error(kit.request("GET", HIERARCHY.format(_q("!nosuchroom:localhost")),
                                    bob.access_token), 403, "M_FORBIDDEN")
    assert "not in room" in body["error"]
    assert ids(hierarchy(kit, carol, t.private)) == [t.private]
    assert ids(hierarchy(kit, bob, t.knock)) == [t.knock]


def test_depth_suggested_and_loops(kit: Kit) -> None:
    t = Tree(kit)
    assert ids(hierarchy(kit, t.alice, t.root, "max_depth=0")) == [t.root]
    assert ids(hierarchy(kit, t.alice, t.root, "max_depth=1")) == [
        t.root, t.public, t.sub, *t.unordered]
    body = hierarchy(kit, t.alice, t.root, "suggested_only=true")
    assert ids(body) == [t.root, t.public]
    assert [c["state_key"] for c in body["rooms"][0]["children_state"]] == [t.public]
    # Starting at the sub-space, the loop back to root is walked once.
    assert ids(hierarchy(kit, t.alice, t.sub)) == [
        t.sub, t.public2, t.root, t.public, *t.unordered]


def test_pagination(kit: Kit) -> None:
    t = Tree(kit)
    full = ids(hierarchy(kit, t.alice, t.root))
    first = hierarchy(kit, t.alice, t.root, "limit=3")
    assert ids(first) == full[:3] and isinstance(first["next_batch"], str)
    assert walk(kit, t.alice, t.root, "limit=3") == full
    assert walk(kit, t.alice, t.root, "limit=1&max_depth=1") == [
        r for r in full if r != t.public2]
    # A huge limit is capped, not refused.
    assert ids(hierarchy(kit, t.alice, t.root, "limit=100000")) == full

    token = _q(first["next_batch"])
    path = HIERARCHY.format(_q(t.root))
    for query in (f"from={token}&max_depth=2", f"from={token}&suggested_only=true",
                  "from=nosuchtoken"):
        body = assert_error(kit.request("GET", f"{path}?{query}", t.alice.access_token), 400,
                            "M_INVALID_PARAM")
        assert body["error"] == "Unknown pagination token"
    # A token belongs to the user and room it was made for.
    bob = kit.register_user()
    assert_error(kit.request("GET", f"{path}?from={token}", bob.access_token), 400,
                 "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{HIERARCHY.format(_q(t.sub))}?from={token}",
                             t.alice.access_token), 400, "M_INVALID_PARAM")
    # The same token may be used again (a retried request).
    again = hierarchy(kit, t.alice, t.root, f"limit=3&from={token}")
    assert ids(again) == full[3:6]

    for query in ("limit=0", "limit=-1", "max_depth=-1", "limit=x",
                  "suggested_only=yes"):
        assert_error(kit.request("GET", f"{path}?{query}", t.alice.access_token), 400,
                     "M_INVALID_PARAM")
    assert_error(kit.request("GET", HIERARCHY.format("not-a-room"), t.alice.access_token),
                 400, "M_INVALID_PARAM")


def test_admin_hierarchy(kit: Kit) -> None:
    t = Tree(kit)
    admin = kit.make_admin()
    # Every local room, although the admin is in none of them.
    body = hierarchy(kit, admin, t.root, admin=True)
    assert ids(body) == [t.root, t.public, t.sub, t.public2, *t.unordered]
    assert body["rooms"][0]["name"] == "Root"
    assert ids(hierarchy(kit, admin, t.private, admin=True)) == [t.private]
    assert ids(hierarchy(kit, admin, t.root, "max_depth=0", admin=True)) == [t.root]
    assert walk(kit, admin, t.root, "limit=2", admin=True) == ids(body)
    # The admin walk ignores suggested_only, as Synapse's does.
    assert len(ids(hierarchy(kit, admin, t.root, "suggested_only=true", admin=True))) == 8
    # A token of the client walk is not one of the admin walk.
    token = hierarchy(kit, admin, t.public)  # admin can see a public room as a user too
    assert "next_batch" not in token
    page = hierarchy(kit, t.alice, t.root, "limit=1")
    assert_error(kit.request("GET", f"{ADMIN_HIERARCHY.format(_q(t.root))}?from="
                             f"{_q(page['next_batch'])}", admin.access_token), 400,
                 "M_INVALID_PARAM")
    body = assert_error(kit.request("GET", ADMIN_HIERARCHY.format(
        _q(f"!{unique('none')}:localhost")), admin.access_token), 404, "M_NOT_FOUND")
    assert body["error"] == "Room not found"
    # A space child naming a room this server does not have is left out.
    add_child(kit, t.alice, t.root, "!elsewhere:remote.example")
    assert "!elsewhere:remote.example" not in ids(hierarchy(kit, admin, t.root, admin=True))
    assert "!elsewhere:remote.example" not in ids(hierarchy(kit, t.alice, t.root))
