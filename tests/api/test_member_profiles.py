"""The ``m.room.member`` events the server writes carry the user's current profile.

Clients read names and avatars from member events (spec: ``m.room.member``,
``displayname``/``avatar_url``), so the creator's join, invites, the join into an
upgraded room and the joins re-sent after a profile change all carry both fields as the
profile holds them now.
"""

from __future__ import annotations

from typing import Any

from tests.kit import Kit, User, create_room

V3 = "/_matrix/client/v3"


def _profile(kit: Kit, user: User, name: str, avatar: str | None = None) -> None:
    r = kit.request("PUT", f"{V3}/profile/{user.user_id}/displayname", user.access_token,
                    json={"displayname": name})
    assert r.status_code == 200, r.text
    if avatar is not None:
        r = kit.request("PUT", f"{V3}/profile/{user.user_id}/avatar_url", user.access_token,
                        json={"avatar_url": avatar})
        assert r.status_code == 200, r.text


def _member(kit: Kit, viewer: User, room_id: str, user_id: str) -> dict[str, Any]:
    r = kit.request("GET", f"{V3}/rooms/{room_id}/state/m.room.member/{user_id}",
                    viewer.access_token)
    assert r.status_code == 200, r.text
    content: dict[str, Any] = r.json()
    return content


def test_creator_join_and_invites_carry_profiles(kit: Kit) -> None:
    alice, bob, carol = kit.register_user(), kit.register_user(), kit.register_user()
    _profile(kit, alice, "Alice", "mxc://localhost/alice")
    _profile(kit, bob, "Bob", "mxc://localhost/bob")
    _profile(kit, carol, "Carol")
    room_id = create_room(kit, alice, invite=[bob.user_id])
    assert _member(kit, alice, room_id, alice.user_id) == {
        "membership": "join", "displayname": "Alice", "avatar_url": "mxc://localhost/alice"}
    assert _member(kit, alice, room_id, bob.user_id) == {
        "membership": "invite", "displayname": "Bob", "avatar_url": "mxc://localhost/bob"}
    r = kit.request("POST", f"{V3}/rooms/{room_id}/invite", alice.access_token,
                    json={"user_id": carol.user_id})
    assert r.status_code == 200, r.text
    assert _member(kit, alice, room_id, carol.user_id) == {
        "membership": "invite", "displayname": "Carol"}


def test_profile_change_sends_the_whole_current_profile(kit: Kit) -> None:
    """Changing only the avatar re-sends a join that still names the user: the one
    field changed is not patched into an older, possibly incomplete event."""
    alice = kit.register_user()
    _profile(kit, alice, "Alice")
    room_id = create_room(kit, alice)
    r = kit.request("PUT", f"{V3}/profile/{alice.user_id}/avatar_url", alice.access_token,
                    json={"avatar_url": "mxc://localhost/new"})
    assert r.status_code == 200, r.text
    assert _member(kit, alice, room_id, alice.user_id) == {
        "membership": "join", "displayname": "Alice", "avatar_url": "mxc://localhost/new"}


def test_join_into_upgraded_room_carries_profile(kit: Kit) -> None:
    alice = kit.register_user()
    _profile(kit, alice, "Alice", "mxc://localhost/a")
    old = create_room(kit, alice, room_version="10")
    r = kit.request("POST", f"{V3}/rooms/{old}/upgrade", alice.access_token,
                    json={"new_version": "11"})
    assert r.status_code == 200, r.text
    new = r.json()["replacement_room"]
    assert _member(kit, alice, new, alice.user_id) == {
        "membership": "join", "displayname": "Alice", "avatar_url": "mxc://localhost/a"}
