"""``device_lists`` in ``/sync`` (the spec's "Tracking the device list for a user"): a
user who adds, renames or deletes a device, or changes cross-signing keys, is in
``changed`` for everyone sharing a room with them, uploaded keys or not; a user with whom
no room is shared any more is in ``left``."""

from __future__ import annotations

from typing import Any

from tests.api.test_keys import SIGNING_UPLOAD, CrossSigning
from tests.api.test_sync_rooms import join, leave, sync
from tests.kit import Kit, User, create_room

V3 = "/_matrix/client/v3"


def device_lists(kit: Kit, user: User, since: str) -> tuple[dict[str, Any], str]:
    body = sync(kit, user, since)
    return body["device_lists"], body["next_batch"]


def test_device_changes_without_keys_are_reported(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice, preset="public_chat")
    join(kit, bob, room)
    since = sync(kit, bob)["next_batch"]

    # A new device (a login), no keys uploaded.
    phone = kit.login(alice.user_id)
    lists, since = device_lists(kit, bob, since)
    assert alice.user_id in lists["changed"]

    # Nothing happened: nothing reported.
    lists, since = device_lists(kit, bob, since)
    assert lists["changed"] == []

    # A rename.
    r = kit.request("PUT", f"{V3}/devices/{phone.device_id}", alice.access_token,
                    json={"display_name": "Alice's phone"})
    assert r.status_code == 200, r.text
    lists, since = device_lists(kit, bob, since)
    assert alice.user_id in lists["changed"]

    # A deletion (with user-interactive auth).
    path = f"{V3}/devices/{phone.device_id}"
    session = kit.request("DELETE", path, alice.access_token).json()["session"]
    r = kit.request("DELETE", path, alice.access_token, json={"auth": {
        "type": "m.login.password", "session": session, "password": alice.password,
        "identifier": {"type": "m.id.user", "user": alice.user_id}}})
    assert r.status_code == 200, r.text
    lists, since = device_lists(kit, bob, since)
    assert alice.user_id in lists["changed"]

    # Cross-signing keys.
    r = kit.request("POST", SIGNING_UPLOAD, alice.access_token,
                    json=CrossSigning(alice).upload_body())
    assert r.status_code == 200, r.text
    lists, since = device_lists(kit, bob, since)
    assert alice.user_id in lists["changed"]
    # /keys/changes agrees.
    r = kit.request("GET", f"{V3}/keys/changes", bob.access_token,
                    params={"from": sync(kit, bob)["next_batch"]})
    assert r.status_code == 200 and r.json()["changed"] == []


def test_left_once_no_room_is_shared(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    first = create_room(kit, alice, preset="public_chat")
    second = create_room(kit, alice, preset="public_chat")
    join(kit, bob, first)
    join(kit, bob, second)
    since = sync(kit, bob)["next_batch"]
    leave(kit, alice, first)
    lists, since = device_lists(kit, bob, since)
    assert alice.user_id not in lists["left"]  # still in the second room together
    leave(kit, alice, second)
    lists, since = device_lists(kit, bob, since)
    assert lists["left"] == [alice.user_id]
    assert alice.user_id not in lists["changed"]
    # Reported once, and a device change of someone unshared is not reported.
    kit.login(alice.user_id)
    lists, since = device_lists(kit, bob, since)
    assert lists == {"changed": [], "left": []}
    # Sharing a room again makes them `changed` (their devices may be new to us).
    join(kit, alice, first)
    lists, since = device_lists(kit, bob, since)
    assert alice.user_id in lists["changed"]
