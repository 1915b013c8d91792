"""Search finds an edited message by its newest text: what a reader sees is the
replacement's ``m.new_content`` (spec: event replacements), so that is what is indexed,
for the message itself rather than the edit (whose body is only a fallback), and a
reindex keeps it so. Only the original sender's edits count."""

from __future__ import annotations

from typing import Any

from tests.api.test_search import REINDEX, ids, say, search, word
from tests.kit import Kit, User, create_room, send_event, wait_for_job

V3 = "/_matrix/client/v3"


def _edit(kit: Kit, user: User, room_id: str, original: str, text: str) -> str:
    return send_event(kit, user, room_id, {
        "msgtype": "m.text", "body": f"* {text}",
        "m.new_content": {"msgtype": "m.text", "body": text},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original}})


def _check(kit: Kit, user: User, old: str, new: str, newer: str, original: str) -> None:
    assert search(kit, user, old)["results"] == []
    assert search(kit, user, new)["results"] == []
    found = search(kit, user, newer)
    assert ids(found) == [original]
    assert found["highlights"] == [newer]  # from the text found, not the original's
    result: dict[str, Any] = found["results"][0]["result"]
    assert result["unsigned"]["m.relations"]["m.replace"]["content"]["m.new_content"][
        "body"] == f"now {newer}"


def test_search_uses_the_newest_edit(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    r = kit.request("POST", f"{V3}/join/{room_id}", bob.access_token, json={})
    assert r.status_code == 200, r.text
    old, new, newer, forged = word(), word(), word(), word()
    original = say(kit, alice, room_id, f"first {old}")
    _edit(kit, alice, room_id, original, f"now {new}")
    assert search(kit, alice, old)["results"] == []
    assert ids(search(kit, alice, new)) == [original]  # the message, not the edit
    _edit(kit, alice, room_id, original, f"now {newer}")
    _check(kit, alice, old, new, newer, original)
    # Someone else's "edit" changes nothing (only the sender may edit).
    _edit(kit, bob, room_id, original, f"now {forged}")
    assert search(kit, alice, forged)["results"] == []
    assert ids(search(kit, alice, newer)) == [original]


def test_reindex_keeps_the_newest_edit(glia_factory: Any) -> None:
    kit = Kit(glia_factory().url)
    admin, alice = kit.make_admin(), kit.register_user()
    room_id = create_room(kit, alice)
    old, new, newer = word(), word(), word()
    original = say(kit, alice, room_id, f"first {old}")
    _edit(kit, alice, room_id, original, f"now {new}")
    _edit(kit, alice, room_id, original, f"now {newer}")
    r = kit.request("POST", REINDEX, admin.access_token, json={})
    assert r.status_code == 200, r.text
    assert wait_for_job(kit, admin, r.json()["job_id"])["status"] == "complete"
    _check(kit, alice, old, new, newer, original)
    kit.close()
