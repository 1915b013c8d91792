"""Room administration over real HTTP: Synapse's room list, details, members, state,
blocks, v1/v2 deletion with status, and Dendrite's evacuate/purge/emptyRooms — including
a deletion job that resumes after ``kill -9``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from tests.kit import (
    Kit,
    User,
    assert_error,
    create_room,
    send_event,
    unique,
    wait_for_job,
    wait_until,
)
from tests.server import GliaProcess

S = "/_synapse/admin"
D = "/_dendrite/admin"
LIST_KEYS = {"room_id", "name", "canonical_alias", "joined_members", "joined_local_members",
             "version", "creator", "encryption", "federatable", "public", "join_rules",
             "guest_access", "history_visibility", "state_events", "room_type"}


def _q(value: str) -> str:
    return quote(value, safe="")


def _join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"/_matrix/client/v3/join/{_q(room_id)}", user.access_token,
                    json={})
    assert r.status_code == 200, r.text


def _audit_actions(kit: Kit, admin: User, target: str) -> list[str]:
    r = kit.request("GET", f"/_glia/admin/v1/audit_log?target={_q(target)}",
                    admin.access_token)
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()["entries"]]


def test_room_list_details_members_state(kit: Kit) -> None:
    admin = kit.make_admin()
    owner, guest = kit.register_user(), kit.register_user()
    tag = unique("rl")
    rooms = [create_room(kit, owner, name=f"{tag} {i}", preset="public_chat")
             for i in range(3)]
    _join(kit, guest, rooms[0])
    alias = f"#{tag}:{owner.user_id.split(':')[1]}"
    r = kit.request("PUT", f"/_matrix/client/v3/directory/room/{_q(alias)}",
                    owner.access_token, json={"room_id": rooms[1]})
    assert r.status_code == 200, r.text
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{rooms[1]}/state/m.room.canonical_alias",
                    owner.access_token, json={"alias": alias})
    assert r.status_code == 200, r.text

    r = kit.request("GET", f"{S}/v1/rooms?search_term={tag}", admin.access_token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total_rooms"] == 3 and body["offset"] == 0
    assert "next_batch" not in body and "prev_batch" not in body
    assert [x["room_id"] for x in body["rooms"]] == rooms  # by name, ascending
    first = body["rooms"][0]
    assert set(first) == LIST_KEYS
    assert first["joined_members"] == 2 and first["joined_local_members"] == 2
    assert first["creator"] == owner.user_id and first["join_rules"] == "public"
    assert isinstance(first["version"], str) and first["federatable"] is True

    r = kit.request("GET", f"{S}/v1/rooms?search_term={tag}&limit=1&from=1",
                    admin.access_token)
    assert r.json()["next_batch"] == 2 and r.json()["prev_batch"] == 0
    r = kit.request("GET", f"{S}/v1/rooms?search_term={tag}&order_by=joined_members",
                    admin.access_token)
    assert r.json()["rooms"][0]["room_id"] == rooms[0]
    r = kit.request("GET", f"{S}/v1/rooms?search_term={tag}&dir=b", admin.access_token)
    assert [x["room_id"] for x in r.json()["rooms"]] == rooms[::-1]
    # The alias's localpart matches too, and an exact room ID.
    r = kit.request("GET", f"{S}/v1/rooms?search_term={tag[2:]}", admin.access_token)
    assert {x["room_id"] for x in r.json()["rooms"]} >= set(rooms)
    r = kit.request("GET", f"{S}/v1/rooms?search_term={_q(rooms[2])}", admin.access_token)
    assert [x["room_id"] for x in r.json()["rooms"]] == [rooms[2]]
    r = kit.request("GET", f"{S}/v1/rooms?limit=0", admin.access_token)
    assert r.json()["rooms"] == [] and r.json()["total_rooms"] >= 3
    assert_error(kit.request("GET", f"{S}/v1/rooms?order_by=bogus", admin.access_token),
                 400, "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{S}/v1/rooms?search_term=", admin.access_token),
                 400, "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{S}/v1/rooms?from=x", admin.access_token),
                 400, "M_INVALID_PARAM")

    r = kit.request("GET", f"{S}/v1/rooms/{rooms[1]}", admin.access_token)
    assert r.status_code == 200, r.text
    details = r.json()
    assert details["canonical_alias"] == alias and details["name"] == f"{tag} 1"
    assert details["joined_local_devices"] == 1 and details["forgotten"] is False
    assert details["tombstoned"] is False and details["replacement_room"] is None
    assert {"topic", "avatar"} <= set(details)
    assert_error(kit.request("GET", f"{S}/v1/rooms/!nope:localhost", admin.access_token),
                 404, "M_NOT_FOUND")
    # Synapse looks the ID up without parsing it: anything not a room here is 404.
    assert_error(kit.request("GET", f"{S}/v1/rooms/not-a-room", admin.access_token),
                 404, "M_NOT_FOUND")

    r = kit.request("GET", f"{S}/v1/rooms/{rooms[0]}/members", admin.access_token)
    assert r.json() == {"members": sorted([owner.user_id, guest.user_id]), "total": 2}
    r = kit.request("GET", f"{S}/v1/rooms/{rooms[0]}/state", admin.access_token)
    types = {e["type"] for e in r.json()["state"]}
    assert {"m.room.create", "m.room.member", "m.room.power_levels", "m.room.name"} <= types
    r = kit.request("GET", f"{S}/v1/rooms/{rooms[0]}/state?type=m.room.member",
                    admin.access_token)
    assert {e["state_key"] for e in r.json()["state"]} == {owner.user_id, guest.user_id}
    assert all("event_id" in e for e in r.json()["state"])

    # Statistics follow leaves and empty rooms are filterable.
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{rooms[2]}/leave", owner.access_token,
                    json={})
    assert r.status_code == 200
    r = kit.request("GET", f"{S}/v1/rooms?search_term={tag}&empty_rooms=true",
                    admin.access_token)
    assert [x["room_id"] for x in r.json()["rooms"]] == [rooms[2]]
    r = kit.request("GET", f"{S}/v1/rooms?search_term={tag}&empty_rooms=false",
                    admin.access_token)
    assert r.json()["total_rooms"] == 2


def test_block_room(kit: Kit) -> None:
    admin = kit.make_admin()
    owner, outsider = kit.register_user(), kit.register_user()
    room = create_room(kit, owner, preset="public_chat")
    r = kit.request("GET", f"{S}/v1/rooms/{room}/block", admin.access_token)
    assert r.json() == {"block": False}
    r = kit.request("PUT", f"{S}/v1/rooms/{room}/block", admin.access_token,
                    json={"block": True})
    assert r.status_code == 200 and r.json() == {"block": True}
    r = kit.request("GET", f"{S}/v1/rooms/{room}/block", admin.access_token)
    assert r.json() == {"block": True, "user_id": admin.user_id}
    blocked = kit.request("POST", f"/_matrix/client/v3/join/{room}", outsider.access_token,
                          json={})
    assert_error(blocked, 403, "M_UNKNOWN")
    # Members already inside stay (blocking is not deleting).
    send_event(kit, owner, room)
    # A room never seen can be blocked pre-emptively.
    unseen = "!unseen" + unique() + ":elsewhere.example"
    r = kit.request("PUT", f"{S}/v1/rooms/{unseen}/block", admin.access_token,
                    json={"block": True})
    assert r.status_code == 200
    assert_error(kit.request("PUT", f"{S}/v1/rooms/{room}/block", admin.access_token,
                             json={}), 400, "M_MISSING_PARAM")
    assert_error(kit.request("PUT", f"{S}/v1/rooms/{room}/block", admin.access_token,
                             json={"block": "yes"}), 400, "M_BAD_JSON")
    assert_error(kit.request("GET", f"{S}/v1/rooms/bad/block", admin.access_token),
                 400, "M_UNKNOWN")
    r = kit.request("PUT", f"{S}/v1/rooms/{room}/block", admin.access_token,
                    json={"block": False})
    assert r.json() == {"block": False}
    _join(kit, outsider, room)
    assert _audit_actions(kit, admin, room).count("rooms.block") == 4


def _room_with_people(kit: Kit) -> tuple[User, User, User, str, str]:
    owner, member, invitee = kit.register_user(), kit.register_user(), kit.register_user()
    room = create_room(kit, owner, preset="public_chat", name="doomed")
    _join(kit, member, room)
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room}/invite", owner.access_token,
                    json={"user_id": invitee.user_id})
    assert r.status_code == 200, r.text
    alias = f"#{unique('del')}:{owner.user_id.split(':')[1]}"
    r = kit.request("PUT", f"/_matrix/client/v3/directory/room/{_q(alias)}",
                    owner.access_token, json={"room_id": room})
    assert r.status_code == 200
    for i in range(5):
        send_event(kit, member, room, {"msgtype": "m.text", "body": f"bad {i}"})
    return owner, member, invitee, room, alias


def _wait_delete(kit: Kit, admin: User, delete_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        r = kit.request("GET", f"{S}/v2/rooms/delete_status/{delete_id}", admin.access_token)
        assert r.status_code == 200, r.text
        return dict(r.json()) if r.json()["status"] in ("complete", "failed") else None

    return wait_until(finished, what=f"delete {delete_id}")


def test_delete_room_v2_with_replacement(kit: Kit) -> None:
    admin = kit.make_admin()
    owner, member, invitee, room, alias = _room_with_people(kit)
    moderator = f"@{unique('mod')}:{owner.user_id.split(':')[1]}"
    r = kit.request("DELETE", f"{S}/v2/rooms/{room}", admin.access_token,
                    json={"new_room_user_id": moderator, "block": True,
                          "message": "Moved", "room_name": "Gone"})
    assert r.status_code == 200, r.text
    delete_id = r.json()["delete_id"]
    task = _wait_delete(kit, admin, delete_id)
    assert task["status"] == "complete", task
    assert task["room_id"] == room
    shutdown = task["shutdown_room"]
    assert sorted(shutdown["kicked_users"]) == sorted(
        [owner.user_id, member.user_id, invitee.user_id])
    assert shutdown["failed_to_kick_users"] == []
    assert shutdown["local_aliases"] == [alias]
    new_room = shutdown["new_room_id"]

    r = kit.request("GET", f"{S}/v2/rooms/{room}/delete_status", admin.access_token)
    assert r.json()["results"] == [task]
    assert_error(kit.request("GET", f"{S}/v1/rooms/{room}", admin.access_token),
                 404, "M_NOT_FOUND")
    r = kit.request("GET", f"/_matrix/client/v3/directory/room/{_q(alias)}")
    assert r.json()["room_id"] == new_room
    # Former joiners sit muted in the replacement room; the invitee is not there.
    r = kit.request("GET", f"{S}/v1/rooms/{new_room}/members", admin.access_token)
    assert set(r.json()["members"]) == {moderator, owner.user_id, member.user_id}
    r = kit.request("GET", f"{S}/v1/rooms/{new_room}", admin.access_token)
    assert r.json()["name"] == "Gone"
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{new_room}/send/m.room.message/t1",
                    member.access_token, json={"msgtype": "m.text", "body": "hi"})
    assert_error(r, 403, "M_FORBIDDEN")
    # The old room is gone for its members and stays blocked.
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room}/messages?dir=b",
                    member.access_token)
    assert r.status_code in (403, 404)
    r = kit.request("GET", f"{S}/v1/rooms/{room}/block", admin.access_token)
    assert r.json()["block"] is True
    assert "rooms.delete" in _audit_actions(kit, admin, room)

    assert_error(kit.request("GET", f"{S}/v2/rooms/delete_status/nope", admin.access_token),
                 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{S}/v2/rooms/!none:localhost/delete_status",
                             admin.access_token), 404, "M_NOT_FOUND")


def test_delete_room_v1_and_validation(kit: Kit) -> None:
    admin = kit.make_admin()
    owner, member, invitee, room, _alias = _room_with_people(kit)
    for body, errcode in (({"block": "x"}, "M_BAD_JSON"), ({"purge": 1}, "M_BAD_JSON"),
                          ({"new_room_user_id": "@x:elsewhere"}, "M_UNKNOWN")):
        assert_error(kit.request("DELETE", f"{S}/v1/rooms/{room}", admin.access_token,
                                 json=body), 400, errcode)
    assert_error(kit.request("DELETE", f"{S}/v2/rooms/{_q('#alias:localhost')}", admin.access_token,
                             json={}), 400, "M_UNKNOWN")
    assert_error(kit.request("DELETE", f"{S}/v2/rooms/{room}", admin.access_token),
                 400, "M_NOT_JSON")
    r = kit.request("DELETE", f"{S}/v1/rooms/{room}", admin.access_token, json={})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["kicked_users"]) == sorted(
        [owner.user_id, member.user_id, invitee.user_id])
    assert r.json()["new_room_id"] is None and r.json()["local_aliases"] == []
    assert_error(kit.request("GET", f"{S}/v1/rooms/{room}", admin.access_token),
                 404, "M_NOT_FOUND")
    # Purging an unknown room is a no-op success (Synapse's "pre-emptive block" path).
    r = kit.request("DELETE", f"{S}/v1/rooms/{room}", admin.access_token,
                    json={"block": True})
    assert r.status_code == 200 and r.json()["kicked_users"] == []
    not_admin = kit.register_user()
    assert_error(kit.request("DELETE", f"{S}/v2/rooms/{room}", not_admin.access_token,
                             json={}), 403, "M_FORBIDDEN")


def test_dendrite_evacuate_purge_and_empty_rooms(kit: Kit) -> None:
    admin = kit.make_admin()
    owner, member, invitee, room, _alias = _room_with_people(kit)

    r = kit.request("POST", f"{D}/evacuateRoom/{room}?dry_run=true", admin.access_token)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["affected"]) == sorted([owner.user_id, member.user_id])
    assert r.json()["dry_run"] is True
    r = kit.request("GET", f"{S}/v1/rooms/{room}/members", admin.access_token)
    assert r.json()["total"] == 2  # the dry run changed nothing

    other = create_room(kit, member)
    r = kit.request("POST", f"{D}/evacuateUser/{_q(member.user_id)}", admin.access_token,
                    json={"dry_run": True})
    assert sorted(r.json()["affected"]) == sorted([room, other])
    r = kit.request("POST", f"{D}/evacuateUser/{_q(invitee.user_id)}", admin.access_token)
    assert r.status_code == 200, r.text
    assert r.json() == {"affected": [room]}  # the pending invite is rejected
    assert_error(kit.request("POST", f"{D}/evacuateUser/{_q('@x:elsewhere.example')}",
                             admin.access_token), 400, "M_INVALID_PARAM")
    assert_error(kit.request("POST", f"{D}/evacuateUser/{_q('@nobody' + unique() + ':localhost')}",
                             admin.access_token), 404, "M_NOT_FOUND")

    r = kit.request("POST", f"{D}/evacuateRoom/{room}", admin.access_token)
    assert sorted(r.json()["affected"]) == sorted([owner.user_id, member.user_id])
    r = kit.request("GET", f"{D}/emptyRooms", admin.access_token)
    assert room in r.json()["empty_rooms"] and other not in r.json()["empty_rooms"]
    assert_error(kit.request("POST", f"{D}/evacuateRoom/!unknown:localhost",
                             admin.access_token), 404, "M_NOT_FOUND")

    r = kit.request("POST", f"{D}/purgeRoom/{room}?dry_run=true", admin.access_token)
    assert r.status_code == 200, r.text
    dry = r.json()
    assert dry["events"] >= 10 and dry["local_members"] == [] and len(dry["aliases"]) == 1
    assert kit.request("GET", f"{S}/v1/rooms/{room}", admin.access_token).status_code == 200
    r = kit.request("POST", f"{D}/purgeRoom/{room}", admin.access_token)
    assert r.status_code == 200, r.text
    job = wait_for_job(kit, admin, r.json()["job_id"])
    assert job["status"] == "complete" and job["result"]["events"] == dry["events"]
    assert_error(kit.request("GET", f"{S}/v1/rooms/{room}", admin.access_token),
                 404, "M_NOT_FOUND")
    r = kit.request("GET", f"{D}/emptyRooms", admin.access_token)
    assert room not in r.json()["empty_rooms"]
    actions = _audit_actions(kit, admin, room)
    assert {"rooms.evacuate", "rooms.purge"} <= set(actions)


def test_delete_job_resumes_after_kill9(glia_factory: Callable[..., GliaProcess]) -> None:
    """A deletion killed mid-eviction is reclaimed after its heartbeat goes stale and
    finishes from its saved progress: one replacement room, every member evicted once."""
    server = glia_factory({"GLIA_JOBS__HEARTBEAT_TIMEOUT": "1"})
    kit = Kit(server.url)
    try:
        admin = kit.make_admin()
        owner = kit.register_user()
        room = create_room(kit, owner, preset="public_chat")
        members = [kit.register_user() for _ in range(60)]
        for m in members:
            _join(kit, m, room)
        moderator = f"@{unique('mod')}:{server.server_name}"
        r = kit.request("DELETE", f"{S}/v2/rooms/{room}", admin.access_token,
                        json={"new_room_user_id": moderator})
        delete_id = r.json()["delete_id"]
        def part_done() -> bool:
            job = kit.request("GET", f"/_glia/admin/v1/jobs/{delete_id}",
                              admin.access_token).json()
            assert job["status"] in ("scheduled", "active"), job
            return bool(job["status"] == "active" and job["progress"]["done"] >= 3)

        wait_until(part_done, interval=0.005, what="the deletion to be under way")
        server.kill9()
        kit.http.close()
        server.start()
        kit = Kit(server.url)
        before = kit.request("GET", f"/_glia/admin/v1/jobs/{delete_id}",
                             admin.access_token).json()
        assert before["status"] == "active"
        saved_room = before["result"]["shutdown_room"]["new_room_id"]
        task = _wait_delete(kit, admin, delete_id)
        assert task["status"] == "complete", task
        shutdown = task["shutdown_room"]
        assert shutdown["new_room_id"] == saved_room
        assert sorted(shutdown["kicked_users"]) == sorted(
            [owner.user_id, *(m.user_id for m in members)])
        assert_error(kit.request("GET", f"{S}/v1/rooms/{room}", admin.access_token),
                     404, "M_NOT_FOUND")
        r = kit.request("GET", f"{S}/v1/rooms/{saved_room}/members", admin.access_token)
        assert r.json()["total"] == 62
        assert "job" in server.log()
    finally:
        kit.close()


def test_moderation_tools(kit: Kit) -> None:
    """What moderation bots and admin UIs use beside deletion: reading any room's
    messages and context, make_room_admin, force-join, forward extremities, fetch_event,
    history purges and the scheduled-task view."""
    admin = kit.make_admin()
    owner, outsider = kit.register_user(), kit.register_user()
    room = create_room(kit, owner, preset="private_chat")
    ids = [send_event(kit, owner, room, {"msgtype": "m.text", "body": f"p{i}"})
           for i in range(6)]

    r = kit.request("GET", f"{S}/v1/rooms/{room}/messages?dir=b&limit=3", admin.access_token)
    assert r.status_code == 200, r.text
    assert [e["content"]["body"] for e in r.json()["chunk"]] == ["p5", "p4", "p3"]
    r = kit.request("GET", f"{S}/v1/rooms/{room}/messages", admin.access_token)
    assert r.json()["chunk"][0]["type"] == "m.room.create"  # dir defaults to f
    r = kit.request("GET", f"{S}/v1/rooms/{room}/context/{ids[2]}?limit=2",
                    admin.access_token)
    assert r.status_code == 200, r.text
    assert r.json()["event"]["content"]["body"] == "p2"
    assert_error(kit.request("GET", f"/_matrix/client/v3/rooms/{room}/context/{ids[2]}",
                             admin.access_token), 403, "M_FORBIDDEN")
    r = kit.request("GET", f"{S}/v1/rooms/{room}/timestamp_to_event?ts=0",
                    admin.access_token)
    assert r.status_code == 200 and r.json()["event_id"].startswith("$")
    assert_error(kit.request("GET", f"{S}/v1/rooms/{room}/timestamp_to_event",
                             admin.access_token), 400, "M_MISSING_PARAM")
    r = kit.request("GET", f"{S}/v1/fetch_event/{ids[0]}", admin.access_token)
    assert r.json()["event"]["content"]["body"] == "p0" and "hashes" in r.json()["event"]
    assert_error(kit.request("GET", f"{S}/v1/fetch_event/$nope", admin.access_token),
                 404, "M_NOT_FOUND")

    # make_room_admin: the admin gets the owner's power and, the room being private, an
    # invite from the owner.
    r = kit.request("POST", f"{S}/v1/rooms/{room}/make_room_admin", admin.access_token,
                    json={})
    assert r.status_code == 200, r.text
    _join(kit, admin, room)
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room}/state/m.room.power_levels",
                    admin.access_token)
    levels = r.json()
    assert levels["users"].get(admin.user_id, 100) == levels["users"].get(owner.user_id, 100)
    # Force-join: the admin (now able to invite) brings the outsider in.
    r = kit.request("POST", f"{S}/v1/join/{room}", admin.access_token,
                    json={"user_id": outsider.user_id})
    assert r.status_code == 200, r.text and r.json() == {"room_id": room}
    r = kit.request("GET", f"{S}/v1/rooms/{room}/members", admin.access_token)
    assert outsider.user_id in r.json()["members"]
    assert_error(kit.request("POST", f"{S}/v1/join/{room}", admin.access_token, json={}),
                 400, "M_MISSING_PARAM")
    assert_error(kit.request("POST", f"{S}/v1/join/{room}", admin.access_token,
                             json={"user_id": "@x:elsewhere.example"}), 400, "M_UNKNOWN")

    r = kit.request("GET", f"{S}/v1/rooms/{room}/forward_extremities", admin.access_token)
    assert r.json()["count"] == 1
    r = kit.request("DELETE", f"{S}/v1/rooms/{room}/forward_extremities", admin.access_token)
    assert r.json() == {"deleted": 0}

    # History purge: local users' messages survive unless delete_local_events.
    r = kit.request("POST", f"{S}/v1/purge_history/{room}/{ids[4]}", admin.access_token,
                    json={})
    assert r.status_code == 200, r.text
    purge_id = r.json()["purge_id"]
    wait_for_job(kit, admin, purge_id)
    r = kit.request("GET", f"{S}/v1/purge_history_status/{purge_id}", admin.access_token)
    assert r.json() == {"status": "complete"}
    r = kit.request("POST", f"{S}/v1/purge_history/{room}", admin.access_token,
                    json={"purge_up_to_event_id": ids[4], "delete_local_events": True})
    job = wait_for_job(kit, admin, r.json()["purge_id"])
    assert job["result"] == {"deleted_events": 4}
    r = kit.request("GET", f"{S}/v1/rooms/{room}/messages?dir=b&limit=50", admin.access_token)
    bodies = [e["content"].get("body") for e in r.json()["chunk"]
              if e["type"] == "m.room.message"]
    assert bodies == ["p5", "p4"]
    assert any(e["type"] == "m.room.create" for e in r.json()["chunk"])  # state is kept
    assert_error(kit.request("POST", f"{S}/v1/purge_history/{room}", admin.access_token,
                             json={}), 400, "M_BAD_JSON")
    assert_error(kit.request("POST", f"{S}/v1/purge_history/{room}", admin.access_token,
                             json={"purge_up_to_ts": "x"}), 400, "M_BAD_JSON")
    assert_error(kit.request("POST", f"{S}/v1/purge_history/{room}", admin.access_token,
                             json={"purge_up_to_ts": 1}), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{S}/v1/purge_history_status/nope", admin.access_token),
                 404, "M_NOT_FOUND")

    r = kit.request("GET", f"{S}/v1/scheduled_tasks?action_name=purge_history"
                    f"&resource_id={room}", admin.access_token)
    tasks = r.json()["scheduled_tasks"]
    assert len(tasks) == 2 and {t["status"] for t in tasks} == {"complete"}
    assert set(tasks[0]) == {"id", "action", "status", "timestamp_ms", "resource_id",
                             "result", "error"}
    assert_error(kit.request("GET", f"{S}/v1/scheduled_tasks?status=bogus",
                             admin.access_token), 400, "M_INVALID_PARAM")
    actions = _audit_actions(kit, admin, room)
    assert {"rooms.make_room_admin", "rooms.join", "rooms.purge_history"} <= set(actions)
