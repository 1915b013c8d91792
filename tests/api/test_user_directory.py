"""``POST /user_directory/search``: whom a user finds (client-server spec, "User
directory": users sharing a room with the searcher, users in rooms with a ``public`` join
rule or ``world_readable`` history), case-insensitive matching on user IDs and display
names, ``limited``, and the directory kept current as profiles and rooms change; the
``search_all_users`` option and the admin rebuild job (Synapse's behaviour)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.kit import Kit, User, assert_error, create_room, unique, wait_for_job
from tests.server import GliaProcess

SEARCH = "/_matrix/client/v3/user_directory/search"


def search(kit: Kit, user: User, term: str, **extra: Any) -> dict[str, Any]:
    r = kit.request("POST", SEARCH, user.access_token, json={"search_term": term, **extra})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert isinstance(body["limited"], bool)
    return body


def found(kit: Kit, user: User, term: str) -> set[str]:
    return {r["user_id"] for r in search(kit, user, term)["results"]}


def set_name(kit: Kit, user: User, name: str) -> None:
    r = kit.request("PUT", f"/_matrix/client/v3/profile/{user.user_id}/displayname",
                    user.access_token, json={"displayname": name})
    assert r.status_code == 200, r.text


def join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"/_matrix/client/v3/join/{room_id}", user.access_token, json={})
    assert r.status_code == 200, r.text


def invite_and_join(kit: Kit, inviter: User, user: User, room_id: str) -> None:
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/invite",
                    inviter.access_token, json={"user_id": user.user_id})
    assert r.status_code == 200, r.text
    join(kit, user, room_id)


def test_finds_users_sharing_a_room_by_name_and_id_prefix(kit: Kit) -> None:
    word = unique("zq")
    alice, bob, carol = (kit.register_user() for _ in range(3))
    set_name(kit, bob, f"Bob {word.capitalize()}son")
    set_name(kit, carol, f"Carol {word}son")
    room = create_room(kit, alice, preset="private_chat")
    invite_and_join(kit, alice, bob, room)

    # A case-insensitive prefix of a word of the display name finds Bob; Carol shares no
    # room with Alice and is in no public room, so she is not found.
    assert found(kit, alice, word.upper()) == {bob.user_id}
    result = search(kit, alice, word)["results"]
    assert result == [{"user_id": bob.user_id, "display_name": f"Bob {word.capitalize()}son"}]
    # A prefix of the user ID's localpart finds Bob too; the middle of a word does not.
    localpart = bob.user_id[1:].split(":")[0]
    assert found(kit, alice, localpart[:6]) == {bob.user_id}
    assert found(kit, alice, localpart[2:]) == set()
    # Every word of the search term must match.
    assert found(kit, alice, f"bob {word}") == {bob.user_id}
    assert found(kit, alice, f"alice {word}") == set()


def test_users_in_public_rooms_are_found_by_anyone(kit: Kit) -> None:
    word = unique("pub")
    owner, member, stranger = (kit.register_user() for _ in range(3))
    set_name(kit, member, f"Member {word}")
    room = create_room(kit, owner, preset="private_chat")
    invite_and_join(kit, owner, member, room)
    assert found(kit, stranger, word) == set()

    # The join rule becomes public: its members are visible to everyone.
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/state/m.room.join_rules/",
                    owner.access_token, json={"join_rule": "public"})
    assert r.status_code == 200, r.text
    assert found(kit, stranger, word) == {member.user_id}
    # Back to invite-only: hidden again; world_readable history makes them visible.
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/state/m.room.join_rules/",
                    owner.access_token, json={"join_rule": "invite"})
    assert r.status_code == 200, r.text
    assert found(kit, stranger, word) == set()
    r = kit.request("PUT",
                    f"/_matrix/client/v3/rooms/{room}/state/m.room.history_visibility/",
                    owner.access_token, json={"history_visibility": "world_readable"})
    assert r.status_code == 200, r.text
    assert found(kit, stranger, word) == {member.user_id}


def test_profile_and_membership_changes_keep_it_current(kit: Kit) -> None:
    old, new = unique("old"), unique("new")
    alice, bob = kit.register_user(), kit.register_user()
    set_name(kit, bob, f"Bob {old}")
    room = create_room(kit, alice, preset="private_chat")
    invite_and_join(kit, alice, bob, room)
    assert found(kit, alice, old) == {bob.user_id}

    set_name(kit, bob, f"Bob {new}")
    assert found(kit, alice, old) == set()
    assert search(kit, alice, new)["results"] == [
        {"user_id": bob.user_id, "display_name": f"Bob {new}"}]

    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room}/leave", bob.access_token,
                    json={})
    assert r.status_code == 200, r.text
    assert found(kit, alice, new) == set()


def test_limited_and_limit(kit: Kit) -> None:
    word = unique("lim")
    owner = kit.register_user()
    room = create_room(kit, owner, preset="public_chat")
    members = [kit.register_user() for _ in range(3)]
    for m in members:
        set_name(kit, m, f"{word} member")
        join(kit, m, room)
    body = search(kit, owner, word, limit=2)
    assert len(body["results"]) == 2 and body["limited"] is True
    body = search(kit, owner, word, limit=3)
    assert {r["user_id"] for r in body["results"]} == {m.user_id for m in members}
    assert body["limited"] is False
    # The default limit is 10, and an empty search term finds nobody.
    assert search(kit, owner, word)["limited"] is False
    assert search(kit, owner, "  ") == {"results": [], "limited": False}


def test_bad_requests(kit: Kit) -> None:
    user = kit.register_user()
    assert_error(kit.request("POST", SEARCH, user.access_token, json={}), 400,
                 "M_MISSING_PARAM")
    assert_error(kit.request("POST", SEARCH, user.access_token,
                             json={"search_term": "a", "limit": -1}), 400, "M_INVALID_PARAM")
    assert_error(kit.request("POST", SEARCH, json={"search_term": "a"}), 401,
                 "M_MISSING_TOKEN")


@pytest.fixture
def all_users_kit(glia_factory: Callable[..., GliaProcess]) -> Any:
    server = glia_factory({"GLIA_USER_DIRECTORY__SEARCH_ALL_USERS": "true"})
    k = Kit(server.url)
    yield k
    k.close()


def test_search_all_users_finds_users_without_rooms(all_users_kit: Kit) -> None:
    kit = all_users_kit
    word = unique("all")
    alice, loner = kit.register_user(), kit.register_user()
    set_name(kit, loner, f"Loner {word}")
    assert found(kit, alice, word) == {loner.user_id}

    # A deactivated account is never found.
    r = kit.request("POST", "/_matrix/client/v3/account/deactivate", loner.access_token,
                    json={"auth": {"type": "m.login.password", "password": loner.password,
                                   "identifier": {"type": "m.id.user",
                                                  "user": loner.user_id}}})
    assert r.status_code == 200, r.text
    assert found(kit, alice, word) == set()


def test_admin_rebuild_job(kit: Kit) -> None:
    word = unique("reb")
    admin, alice, bob = kit.make_admin(), kit.register_user(), kit.register_user()
    set_name(kit, bob, f"Bob {word}")
    room = create_room(kit, alice, preset="public_chat")
    join(kit, bob, room)

    path = "/_glia/admin/v1/user_directory/rebuild"
    assert_error(kit.request("POST", path, alice.access_token), 403, "M_FORBIDDEN")
    r = kit.request("POST", path, admin.access_token)
    assert r.status_code == 200, r.text
    job = wait_for_job(kit, admin, r.json()["job_id"])
    assert job["status"] == "complete", job
    assert job["kind"] == "user_directory_rebuild"
    assert job["result"]["users"] >= 3 and job["result"]["public_rooms"] >= 1
    assert found(kit, alice, word) == {bob.user_id}
