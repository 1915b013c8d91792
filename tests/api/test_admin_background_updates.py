"""Synapse's background-updates admin API over real HTTP, served from Glia's jobs: the
switch, the status, and start_job's two rebuilds (which really rebuild)."""

from __future__ import annotations

from typing import Any

from glia.config import load_config
from glia.storage import open_storage
from tests.kit import Kit, User, assert_error, create_room, unique, wait_for_job, wait_until
from tests.server import GliaProcess

B = "/_synapse/admin/v1/background_updates"


def _jobs(kit: Kit, admin: User, kind: str) -> list[dict[str, Any]]:
    r = kit.request("GET", f"/_glia/admin/v1/jobs?kind={kind}", admin.access_token)
    assert r.status_code == 200, r.text
    jobs: list[dict[str, Any]] = r.json()["jobs"]
    return jobs


def _set_enabled(kit: Kit, admin: User, body: Any) -> dict[str, Any]:
    r = kit.request("POST", f"{B}/enabled", admin.access_token, json=body)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_enabled_switch(kit: Kit) -> None:
    admin = kit.make_admin()
    assert kit.request("GET", f"{B}/enabled", admin.access_token).json() == {"enabled": True}
    try:
        assert _set_enabled(kit, admin, {"enabled": False}) == {"enabled": False}
        assert kit.request("GET", f"{B}/enabled", admin.access_token).json() == \
            {"enabled": False}
        assert kit.request("GET", f"{B}/status", admin.access_token).json() == \
            {"enabled": False, "current_updates": {}}
    finally:
        # No "enabled" means true, as in Synapse.
        assert _set_enabled(kit, admin, {}) == {"enabled": True}
    assert kit.request("GET", f"{B}/status", admin.access_token).json()["enabled"] is True


def test_bad_input(kit: Kit) -> None:
    admin = kit.make_admin()
    for value in ("yes", 1, None, [True]):
        assert_error(kit.request("POST", f"{B}/enabled", admin.access_token,
                                 json={"enabled": value}), 400, "M_UNKNOWN")
    assert_error(kit.request("POST", f"{B}/start_job", admin.access_token, json={}), 400,
                 "M_MISSING_PARAM")
    for name in ("event_resign", "bogus", 7, None):
        body = assert_error(kit.request("POST", f"{B}/start_job", admin.access_token,
                                        json={"job_name": name}), 400, "M_UNKNOWN")
        assert body["error"] == "Invalid job_name"
    user = kit.register_user()
    assert_error(kit.request("GET", f"{B}/status", user.access_token), 403, "M_FORBIDDEN")


async def _break_room_name(glia: GliaProcess, room_id: str) -> None:
    """Make the room's statistics wrong behind the server's back (a lost update)."""
    config = load_config(None, glia.env)
    storage = await open_storage(config, run_migrations=False)
    try:
        await storage.admin_rooms.set_stat(room_id, "name", "stale name")
    finally:
        await storage.close()


def _listed_name(kit: Kit, admin: User, room_id: str) -> str | None:
    r = kit.request("GET", f"/_synapse/admin/v1/rooms/{room_id}", admin.access_token)
    assert r.status_code == 200, r.text
    name: str | None = r.json()["name"]
    return name


async def test_populate_stats_rebuilds_room_statistics(glia: GliaProcess, kit: Kit) -> None:
    admin = kit.make_admin()
    name = unique("room")
    room_id = create_room(kit, admin, name=name)
    await _break_room_name(glia, room_id)
    assert _listed_name(kit, admin, room_id) == "stale name"
    before = {j["job_id"] for j in _jobs(kit, admin, "populate_stats_process_rooms")}
    r = kit.request("POST", f"{B}/start_job", admin.access_token,
                    json={"job_name": "populate_stats_process_rooms"})
    assert r.status_code == 200 and r.json() == {}, r.text
    [job] = [j for j in _jobs(kit, admin, "populate_stats_process_rooms")
             if j["job_id"] not in before]
    done = wait_for_job(kit, admin, job["job_id"])
    assert done["status"] == "complete" and done["result"]["rooms"] >= 1, done
    assert _listed_name(kit, admin, room_id) == name


def test_paused_job_waits_and_is_reported(kit: Kit) -> None:
    admin = kit.make_admin()
    create_room(kit, admin, name=unique("room"))
    kind = "populate_stats_process_rooms"
    before = {j["job_id"] for j in _jobs(kit, admin, kind)}
    _set_enabled(kit, admin, {"enabled": False})
    try:
        r = kit.request("POST", f"{B}/start_job", admin.access_token, json={"job_name": kind})
        assert r.status_code == 200, r.text
        body = assert_error(kit.request("POST", f"{B}/start_job", admin.access_token,
                                        json={"job_name": kind}), 400, "M_UNKNOWN")
        assert body["error"] == f"Job {kind} is already in queue of background updates."
        [job] = [j for j in _jobs(kit, admin, kind) if j["job_id"] not in before]

        def running() -> dict[str, Any] | None:
            status = kit.request("GET", f"{B}/status", admin.access_token).json()
            return status if status["current_updates"] else None

        status = wait_until(running, what="the paused job to start")
        assert status["enabled"] is False
        update = status["current_updates"]["master"]
        assert update["name"] == kind and update["total_item_count"] == 0
        assert isinstance(update["total_duration_ms"], float)
        assert update["average_items_per_ms"] is None  # no room done yet, as Synapse
        state = kit.request("GET", f"/_glia/admin/v1/jobs/{job['job_id']}",
                            admin.access_token).json()
        assert state["status"] == "active"  # waiting on the switch, not finished
    finally:
        _set_enabled(kit, admin, {"enabled": True})
    assert wait_for_job(kit, admin, job["job_id"])["status"] == "complete"


def _directory_hits(kit: Kit, user: User, word: str) -> list[str]:
    r = kit.request("POST", "/_matrix/client/v3/user_directory/search", user.access_token,
                    json={"search_term": word})
    assert r.status_code == 200, r.text
    return [hit["user_id"] for hit in r.json()["results"]]


async def test_regenerate_directory_rebuilds_the_user_directory(glia: GliaProcess,
                                                                kit: Kit) -> None:
    admin, alice, bob = kit.make_admin(), kit.register_user(), kit.register_user()
    word = unique("zebra")
    r = kit.request("PUT", f"/_matrix/client/v3/profile/{bob.user_id}/displayname",
                    bob.access_token, json={"displayname": f"Bob {word}"})
    assert r.status_code == 200, r.text
    room_id = create_room(kit, alice)
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/invite", alice.access_token,
                    json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    r = kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/join", bob.access_token,
                    json={})
    assert r.status_code == 200, r.text
    assert _directory_hits(kit, alice, word) == [bob.user_id]
    storage = await open_storage(load_config(None, glia.env), run_migrations=False)
    try:  # lose Bob's directory entry behind the server's back
        await storage.engine.execute("DELETE FROM user_directory WHERE user_id = ?",
                                     bob.user_id)
    finally:
        await storage.close()
    assert _directory_hits(kit, alice, word) == []
    kind = "regenerate_directory"
    before = {j["job_id"] for j in _jobs(kit, admin, kind)}
    r = kit.request("POST", f"{B}/start_job", admin.access_token, json={"job_name": kind})
    assert r.status_code == 200 and r.json() == {}, r.text
    [job] = [j for j in _jobs(kit, admin, kind) if j["job_id"] not in before]
    done = wait_for_job(kit, admin, job["job_id"])
    assert done["status"] == "complete", done
    assert _directory_hits(kit, alice, word) == [bob.user_id]
