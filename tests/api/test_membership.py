"""Membership over real HTTP: knock, restricted joins, forget, member lists, power."""

from __future__ import annotations

from tests.kit import Kit, User, assert_error, create_room, send_event

V3 = "/_matrix/client/v3"


def _post(kit: Kit, user: User, path: str, body: dict[str, object] | None = None) -> int:
    return kit.request("POST", V3 + path, user.access_token, json=body or {}).status_code


def _put_state(kit: Kit, user: User, room_id: str, event_type: str,
               content: dict[str, object], state_key: str = "") -> int:
    r = kit.request("PUT", f"{V3}/rooms/{room_id}/state/{event_type}/{state_key}",
                    user.access_token, json=content)
    return r.status_code


def test_knock_then_invite(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, room_version="10")
    assert _put_state(kit, alice, room_id, "m.room.join_rules", {"join_rule": "knock"}) == 200
    assert _post(kit, bob, f"/knock/{room_id}", {"reason": "let me in"}) == 200
    members = kit.request("GET", f"{V3}/rooms/{room_id}/members", alice.access_token,
                          params={"membership": "knock"}).json()["chunk"]
    assert [m["state_key"] for m in members] == [bob.user_id]
    assert members[0]["content"]["reason"] == "let me in"
    assert _post(kit, alice, f"/rooms/{room_id}/invite", {"user_id": bob.user_id}) == 200
    assert _post(kit, bob, f"/rooms/{room_id}/join") == 200


def test_knock_needs_room_version_7(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, room_version="6")
    assert _put_state(kit, alice, room_id, "m.room.join_rules", {"join_rule": "knock"}) == 200
    r = kit.request("POST", f"{V3}/knock/{room_id}", bob.access_token, json={})
    assert_error(r, 403, "M_FORBIDDEN")


def test_restricted_join_via_membership_of_another_room(kit: Kit) -> None:
    alice, bob, carol = kit.register_user(), kit.register_user(), kit.register_user()
    space = create_room(kit, alice, preset="public_chat")
    room_id = create_room(kit, alice, room_version="10")
    assert _put_state(kit, alice, room_id, "m.room.join_rules", {
        "join_rule": "restricted",
        "allow": [{"type": "m.room_membership", "room_id": space}],
    }) == 200
    assert _post(kit, bob, f"/rooms/{space}/join") == 200
    assert _post(kit, bob, f"/rooms/{room_id}/join") == 200
    member = kit.request("GET", f"{V3}/rooms/{room_id}/state/m.room.member/{bob.user_id}",
                         alice.access_token).json()
    assert member["join_authorised_via_users_server"] == alice.user_id
    r = kit.request("POST", f"{V3}/rooms/{room_id}/join", carol.access_token, json={})
    assert_error(r, 403, "M_FORBIDDEN")


def test_members_at_and_filters(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    first = send_event(kit, alice, room_id)
    page = kit.request("GET", f"{V3}/rooms/{room_id}/messages", alice.access_token,
                       params={"dir": "b", "limit": "1"}).json()
    token_before_bob = page["start"]
    assert _post(kit, bob, f"/rooms/{room_id}/join") == 200
    now = kit.request("GET", f"{V3}/rooms/{room_id}/members", alice.access_token).json()
    assert {m["state_key"] for m in now["chunk"]} == {alice.user_id, bob.user_id}
    then = kit.request("GET", f"{V3}/rooms/{room_id}/members", alice.access_token,
                       params={"at": token_before_bob}).json()
    assert {m["state_key"] for m in then["chunk"]} == {alice.user_id}
    not_join = kit.request("GET", f"{V3}/rooms/{room_id}/members", alice.access_token,
                           params={"not_membership": "join"}).json()
    assert not_join["chunk"] == []
    assert first


def test_kick_unban_leave_forget(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    assert _post(kit, bob, f"/rooms/{room_id}/join") == 200
    assert _post(kit, alice, f"/rooms/{room_id}/kick",
                 {"user_id": bob.user_id, "reason": "bye"}) == 200
    assert _post(kit, bob, f"/rooms/{room_id}/join") == 200
    assert _post(kit, alice, f"/rooms/{room_id}/ban", {"user_id": bob.user_id}) == 200
    assert _post(kit, alice, f"/rooms/{room_id}/unban", {"user_id": bob.user_id}) == 200
    assert _post(kit, bob, f"/rooms/{room_id}/join") == 200
    r = kit.request("POST", f"{V3}/rooms/{room_id}/forget", bob.access_token, json={})
    assert_error(r, 400, "M_UNKNOWN")
    assert _post(kit, bob, f"/rooms/{room_id}/leave") == 200
    assert _post(kit, bob, f"/rooms/{room_id}/forget") == 200
    r = kit.request("POST", f"{V3}/rooms/{room_id}/leave", bob.access_token, json={})
    assert_error(r, 403, "M_FORBIDDEN")


def test_power_level_escalation_and_insufficient_power(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat", room_version="11")
    assert _post(kit, bob, f"/rooms/{room_id}/join") == 200
    r = kit.request("PUT", f"{V3}/rooms/{room_id}/state/m.room.name/", bob.access_token,
                    json={"name": "mine"})
    assert_error(r, 403, "M_FORBIDDEN")
    levels = kit.request("GET", f"{V3}/rooms/{room_id}/state/m.room.power_levels/",
                         alice.access_token).json()
    levels["users"][bob.user_id] = 100
    r = kit.request("PUT", f"{V3}/rooms/{room_id}/state/m.room.power_levels/",
                    bob.access_token, json=levels)
    assert_error(r, 403, "M_FORBIDDEN")
    r = kit.request("POST", f"{V3}/rooms/{room_id}/kick", bob.access_token,
                    json={"user_id": alice.user_id})
    assert_error(r, 403, "M_FORBIDDEN")


def test_membership_bad_input(kit: Kit) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice)
    r = kit.request("POST", f"{V3}/rooms/{room_id}/invite", alice.access_token,
                    json={"user_id": "@nobody-here:localhost"})
    assert_error(r, 404, "M_NOT_FOUND")
    r = kit.request("POST", f"{V3}/rooms/{room_id}/invite", alice.access_token,
                    json={"user_id": "not a user"})
    assert_error(r, 400, "M_INVALID_PARAM")
    r = kit.request("POST", f"{V3}/rooms/{room_id}/invite", alice.access_token, json={})
    assert_error(r, 400, "M_MISSING_PARAM")
    r = kit.request("POST", f"{V3}/rooms/{room_id}/invite", alice.access_token,
                    json={"user_id": 5})
    assert_error(r, 400, "M_BAD_JSON")
    r = kit.request("POST", f"{V3}/join/%23missing:localhost", alice.access_token, json={})
    assert_error(r, 404, "M_NOT_FOUND")
    r = kit.request("POST", f"{V3}/join/nonsense", alice.access_token, json={})
    assert_error(r, 400, "M_INVALID_PARAM")
    r = kit.request("POST", f"{V3}/rooms/{room_id}/join", alice.access_token, content=b"{")
    assert_error(r, 400, "M_NOT_JSON")
