"""The job queue: a queued job starts as soon as a slot frees, not at the next poll."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from tests.kit import Kit, create_room, unique, wait_for_job
from tests.server import GliaProcess


def test_a_queued_job_starts_within_a_second_of_a_slot_freeing(
        glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_JOBS__CONCURRENCY": "1"})
    kit = Kit(server.url)
    try:
        admin = kit.make_admin()
        owner = kit.register_user()
        busy = create_room(kit, owner, preset="public_chat")
        for _ in range(15):  # enough members that the first deletion is still running
            user = kit.register_user()
            r = kit.request("POST", f"/_matrix/client/v3/join/{quote(busy)}",
                            user.access_token, json={})
            assert r.status_code == 200, r.text
        queued = create_room(kit, owner)
        moderator = f"@{unique('mod')}:{server.server_name}"
        ids = []
        for room, body in ((busy, {"new_room_user_id": moderator}), (queued, {})):
            r = kit.request("DELETE", f"/_synapse/admin/v2/rooms/{room}", admin.access_token,
                            json=body)
            assert r.status_code == 200, r.text
            ids.append(r.json()["delete_id"])
        first, second = (wait_for_job(kit, admin, job_id) for job_id in ids)
        assert first["status"] == second["status"] == "complete"
        # The second waited for the only slot, and took it as soon as it was free.
        assert second["created_ts"] < first["finished_ts"] <= second["started_ts"]
        assert second["started_ts"] - first["finished_ts"] < 1000
    finally:
        kit.close()
