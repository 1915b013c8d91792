"""Paths Synapse serves outside the spec's own, which clients and bots still call:
``POST /rooms/{roomId}/send/{eventType}`` with no transaction ID, and
``/keys/device_signing/upload`` under ``/_matrix/client/unstable`` (clients written
before cross-signing reached v1.1)."""

from __future__ import annotations

from tests.api.test_keys import CrossSigning, query
from tests.kit import Kit, assert_error, create_room


def test_send_without_transaction_id(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = create_room(kit, alice)
    path = f"/_matrix/client/v3/rooms/{room}/send/m.room.message"
    content = {"msgtype": "m.text", "body": "no txn"}
    first = kit.request("POST", path, alice.access_token, json=content)
    assert first.status_code == 200, first.text
    event_id = first.json()["event_id"]
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room}/event/{event_id}",
                    alice.access_token)
    assert r.status_code == 200, r.text
    assert r.json()["content"] == content and r.json()["sender"] == alice.user_id
    # Without a transaction ID nothing makes a repeat idempotent: a second event.
    second = kit.request("POST", path, alice.access_token, json=content)
    assert second.status_code == 200, second.text
    assert second.json()["event_id"] != event_id
    # The same checks as any send: a non-member is refused, a body must be an object.
    assert_error(kit.request("POST", path, bob.access_token, json=content), 403,
                 "M_FORBIDDEN")
    assert_error(kit.request("POST", path, alice.access_token, json=[1]), 400,
                 "M_BAD_JSON")
    # The r0 prefix too.
    r = kit.request("POST", f"/_matrix/client/r0/rooms/{room}/send/m.room.message",
                    alice.access_token, json=content)
    assert r.status_code == 200, r.text


def test_device_signing_upload_on_the_unstable_prefix(kit: Kit) -> None:
    alice = kit.register_user()
    cs = CrossSigning(alice)
    r = kit.request("POST", "/_matrix/client/unstable/keys/device_signing/upload",
                    alice.access_token, json=cs.upload_body())
    assert r.status_code == 200 and r.json() == {}, r.text
    mine = query(kit, alice, {alice.user_id: []})
    assert mine["master_keys"][alice.user_id]["keys"] == {
        f"ed25519:{cs.master_pub}": cs.master_pub}
