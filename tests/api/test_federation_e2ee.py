"""End-to-end encryption between users of two Glia servers: to-device messages both ways
(``m.direct_to_device``, delivered once), device-list changes reaching the other
server's clients (``m.device_list_update`` → ``device_lists.changed``), ``/keys/query``
and ``/keys/claim`` of the other server's users (its unreachable neighbours listed under
``failures``), cached device lists and Dendrite's ``refreshDevices``, and the hostile
cases: EDUs about users of another server than the origin are ignored, device keys that
do not verify are not passed on."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.api.federation_rooms_kit import RoomPair, join_on_a
from tests.api.federation_rooms_kit import rooms_pair as rooms_pair
from tests.api.test_keys import CHANGES, Crypto, claim, query, setup_device, stream_token
from tests.api.test_registration_tokens import run_sql
from tests.federation import signed_request
from tests.kit import Kit, User, assert_error, create_room, unique, wait_until

V3 = "/_matrix/client/v3"


def sync(kit: Kit, user: User, since: str) -> dict[str, Any]:
    r = kit.request("GET", f"{V3}/sync", user.access_token,
                    params={"since": since, "timeout": "0"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def to_device(kit: Kit, user: User, since: str) -> list[dict[str, Any]]:
    """The to-device messages a sync from ``since`` carries (the same each time: the
    inbox is emptied only once a later token comes back)."""
    return list(sync(kit, user, since).get("to_device", {}).get("events", []))


def changed(kit: Kit, user: User, since: str) -> list[str]:
    return list(sync(kit, user, since).get("device_lists", {}).get("changed", []))


def send_to_device(kit: Kit, sender: User, messages: dict[str, Any],
                   event_type: str = "m.test.ping") -> None:
    r = kit.request("PUT", f"{V3}/sendToDevice/{event_type}/{unique('txn')}",
                    sender.access_token, json={"messages": messages})
    assert r.status_code == 200, r.text


def send_edus(p: RoomPair, edus: list[dict[str, Any]]) -> None:
    """A transaction from B to A carrying ``edus``, signed by B."""
    r = signed_request(p.b.name, p.b.signing_key(), p.a, "PUT",
                       f"/_matrix/federation/v1/send/{unique('txn')}",
                       {"origin": p.b.name, "origin_server_ts": p.kit_b.server_now(),
                        "pdus": [], "edus": edus})
    assert r.status_code == 200, r.text


def shared_room(p: RoomPair) -> tuple[User, User, str]:
    """alice (A) and bob (B) joined to a room of A."""
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    return alice, bob, room_id


# -- to-device ---------------------------------------------------------------------------


def test_to_device_both_ways(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    bob_phone = p.kit_b.login(bob.user_id)
    since_alice, since_bob = stream_token(p.kit_a, alice), stream_token(p.kit_b, bob)
    since_phone = stream_token(p.kit_b, bob_phone)

    send_to_device(p.kit_a, alice, {bob.user_id: {bob.device_id: {"n": 1}}})
    got = wait_until(lambda: to_device(p.kit_b, bob, since_bob), what="alice's message on B")
    assert got == [{"sender": alice.user_id, "type": "m.test.ping", "content": {"n": 1}}]
    assert to_device(p.kit_b, bob_phone, since_phone) == []  # one device named

    # "*": each of bob's devices, on his server.
    send_to_device(p.kit_a, alice, {bob.user_id: {"*": {"n": 2}}})
    wait_until(lambda: [m["content"] for m in to_device(p.kit_b, bob_phone, since_phone)]
               == [{"n": 2}], what="the message to all of bob's devices")

    send_to_device(p.kit_b, bob, {alice.user_id: {alice.device_id: {"n": 3}}},
                   event_type="m.room_key_request")
    got = wait_until(lambda: to_device(p.kit_a, alice, since_alice),
                     what="bob's message on A")
    assert got == [{"sender": bob.user_id, "type": "m.room_key_request",
                    "content": {"n": 3}}]


def test_to_device_delivered_once_and_only_from_the_origin(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    carol = p.kit_a.register_user(unique("carol"))
    since = stream_token(p.kit_a, alice)
    bob_id = f"@{unique('bob')}:{p.b.name}"

    def edu(sender: str, message_id: str, n: int) -> dict[str, Any]:
        return {"edu_type": "m.direct_to_device", "content": {
            "sender": sender, "type": "m.test.ping", "message_id": message_id,
            "messages": {alice.user_id: {alice.device_id: {"n": n}}}}}

    # B may not speak for A's users (nor a third server's): ignored.
    send_edus(p, [edu(carol.user_id, unique("m"), 0),
                  edu("@eve:elsewhere.example", unique("m"), 0),
                  edu(bob_id, "same-id", 1)])
    assert to_device(p.kit_a, alice, since) == [
        {"sender": bob_id, "type": "m.test.ping", "content": {"n": 1}}]
    # The same message ID again (a retry in a new transaction): not delivered twice.
    send_edus(p, [edu(bob_id, "same-id", 1)])
    assert len(to_device(p.kit_a, alice, since)) == 1


# -- device lists ------------------------------------------------------------------------


def test_device_list_changes_reach_the_other_server(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice, bob, _ = shared_room(p)
    since = stream_token(p.kit_a, alice)
    bob_since = stream_token(p.kit_b, bob)

    # A new device of bob's (its keys uploaded) shows in alice's sync and keys/changes.
    phone = p.kit_b.login(bob.user_id)
    crypto = setup_device(p.kit_b, phone)
    wait_until(lambda: bob.user_id in changed(p.kit_a, alice, since),
               what="bob's new device in alice's device_lists.changed")
    r = p.kit_a.request("GET", CHANGES, alice.access_token, params={"from": since})
    assert bob.user_id in r.json()["changed"]
    keys = wait_until(lambda: (q := query(p.kit_a, alice, {bob.user_id: []}))
                      ["device_keys"].get(bob.user_id, {}).get(phone.device_id) and q,
                      what="bob's new device's keys on A")
    assert keys["failures"] == {}
    assert keys["device_keys"][bob.user_id][phone.device_id]["keys"][
        f"ed25519:{phone.device_id}"] == crypto.public

    # Deleting it: alice learns of it again and the device is gone from the keys.
    since = stream_token(p.kit_a, alice)
    r = p.kit_b.request("POST", f"{V3}/delete_devices", bob.access_token,
                        json={"devices": [phone.device_id], "auth": {
                            "type": "m.login.password", "password": bob.password,
                            "identifier": {"type": "m.id.user", "user": bob.user_id}}})
    assert r.status_code == 200, r.text
    wait_until(lambda: bob.user_id in changed(p.kit_a, alice, since),
               what="bob's deleted device in alice's device_lists.changed")
    assert phone.device_id not in query(p.kit_a, alice, {bob.user_id: []})[
        "device_keys"][bob.user_id]

    # The other way: alice's new keys show in bob's sync on B.
    setup_device(p.kit_a, alice)
    wait_until(lambda: alice.user_id in changed(p.kit_b, bob, bob_since),
               what="alice's keys in bob's device_lists.changed")


def test_signing_key_update_marks_the_list_changed(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice, bob, _ = shared_room(p)
    since = stream_token(p.kit_a, alice)
    master = Crypto(bob)
    public = master.public
    r = p.kit_b.request("POST", f"{V3}/keys/device_signing/upload", bob.access_token,
                        json={"master_key": _cross_key(bob, master, "master")})
    assert r.status_code == 200, r.text
    wait_until(lambda: bob.user_id in changed(p.kit_a, alice, since),
               what="bob's master key in alice's device_lists.changed")
    found = query(p.kit_a, alice, {bob.user_id: []})
    assert found["master_keys"][bob.user_id]["keys"] == {f"ed25519:{public}": public}


def _cross_key(user: User, crypto: Crypto, usage: str) -> dict[str, Any]:
    return {"user_id": user.user_id, "usage": [usage],
            "keys": {f"ed25519:{crypto.public}": crypto.public}}


def test_device_list_update_about_another_servers_user_is_ignored(
        rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice, bob, room_id = shared_room(p)
    carol = p.kit_a.register_user(unique("carol"))
    assert p.kit_a.request("POST", f"{V3}/join/{quote(room_id)}", carol.access_token,
                           json={}).status_code == 200
    since = stream_token(p.kit_a, alice)
    send_edus(p, [
        {"edu_type": "m.device_list_update", "content": {
            "user_id": carol.user_id, "device_id": "FORGED", "stream_id": 1,
            "prev_id": []}},
        {"edu_type": "m.signing_key_update", "content": {"user_id": carol.user_id}},
        {"edu_type": "m.device_list_update", "content": {
            "user_id": bob.user_id, "device_id": "REAL", "stream_id": 99,
            "prev_id": []}}])
    assert changed(p.kit_a, alice, since) == [bob.user_id]


# -- keys/query and keys/claim ---------------------------------------------------------


def test_query_and_claim_keys_of_the_other_servers_users(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    crypto = setup_device(p.kit_b, bob, otks=2)
    setup_device(p.kit_a, alice, otks=1)
    stranger = "@nobody:unknown.invalid"

    found = query(p.kit_a, alice, {bob.user_id: [], stranger: [], alice.user_id: []})
    assert set(found["device_keys"]) == {alice.user_id, bob.user_id}
    assert found["device_keys"][bob.user_id][bob.device_id]["keys"][
        f"ed25519:{bob.device_id}"] == crypto.public
    assert set(found["failures"]) == {"unknown.invalid"}
    assert found["failures"]["unknown.invalid"]["status"] == 403

    claimed = claim(p.kit_a, alice, {bob.user_id: {bob.device_id: "signed_curve25519"},
                                     stranger: {"X": "signed_curve25519"}})
    keys = claimed["one_time_keys"][bob.user_id][bob.device_id]
    assert len(keys) == 1 and next(iter(keys)).startswith("signed_curve25519:")
    assert set(claimed["failures"]) == {"unknown.invalid"}
    # It was claimed on B: one key left there.
    counts = p.kit_b.request("POST", f"{V3}/keys/upload", bob.access_token, json={})
    assert counts.json()["one_time_key_counts"]["signed_curve25519"] == 1

    # And the other way.
    back = query(p.kit_b, bob, {alice.user_id: [alice.device_id]})
    assert list(back["device_keys"][alice.user_id]) == [alice.device_id]
    got = claim(p.kit_b, bob, {alice.user_id: {alice.device_id: "signed_curve25519"}})
    assert got["one_time_keys"][alice.user_id][alice.device_id]


def _tamper_keys(p: RoomPair, user: User) -> None:
    """Change a device key on B behind its back, so its signature no longer verifies."""
    r = p.kit_b.request("POST", f"{V3}/keys/query", user.access_token,
                        json={"device_keys": {user.user_id: []}})
    keys = r.json()["device_keys"][user.user_id][user.device_id]
    keys.pop("unsigned", None)
    keys["keys"][f"curve25519:{user.device_id}"] = "AAAA" + keys["keys"][
        f"curve25519:{user.device_id}"][4:]
    run_sql(p.b.process, "UPDATE e2e_device_keys SET key_json = ? WHERE user_id = ?"
            " AND device_id = ?", json.dumps(keys), user.user_id, user.device_id)


def test_bad_device_keys_from_the_other_server_are_not_passed_on(
        rooms_pair: RoomPair) -> None:
    p = rooms_pair
    alice = p.kit_a.register_user(unique("alice"))
    # Not sharing a room (asked with user/keys/query) and sharing one (user/devices).
    lone = p.kit_b.register_user(unique("lone"))
    _, member, _ = shared_room(p)
    for user in (lone, member):
        good = p.kit_b.login(user.user_id)
        setup_device(p.kit_b, user)
        setup_device(p.kit_b, good)
        _tamper_keys(p, user)
        found = query(p.kit_a, alice, {user.user_id: []})
        assert list(found["device_keys"][user.user_id]) == [good.device_id], user
        assert found["failures"] == {}


# -- cached device lists and refreshDevices ----------------------------------------------


def test_refresh_devices_replaces_the_cache(rooms_pair: RoomPair) -> None:
    p = rooms_pair
    admin = p.kit_a.make_admin(unique("admin"))
    alice, bob, _ = shared_room(p)
    since = stream_token(p.kit_a, alice)
    setup_device(p.kit_b, bob)
    # Once A has heard of the upload, nothing more is on its way about bob.
    wait_until(lambda: bob.user_id in changed(p.kit_a, alice, since),
               what="bob's keys in alice's device_lists.changed")
    wait_until(lambda: bob.device_id in query(p.kit_a, alice, {bob.user_id: []})[
        "device_keys"][bob.user_id], what="bob's keys on A")
    # Gone on B without B telling anyone: A still answers from its cache...
    run_sql(p.b.process, "DELETE FROM e2e_device_keys WHERE user_id = ?", bob.user_id)
    assert bob.device_id in query(p.kit_a, alice, {bob.user_id: []})["device_keys"][
        bob.user_id]
    # ...until an admin refreshes bob's device list; alice's clients hear of it.
    since = stream_token(p.kit_a, alice)
    path = f"/_dendrite/admin/refreshDevices/{quote(bob.user_id)}"
    r = p.kit_a.request("POST", path, admin.access_token)
    assert r.status_code == 200 and r.json() == {}, r.text
    assert query(p.kit_a, alice, {bob.user_id: []})["device_keys"][bob.user_id] == {}
    assert bob.user_id in changed(p.kit_a, alice, since)

    local = p.kit_a.request("POST", f"/_dendrite/admin/refreshDevices/{quote(alice.user_id)}",
                            admin.access_token)
    assert_error(local, 400, "M_INVALID_PARAM")
    assert "local device list" in local.json()["error"]
    # A user of a server we share nothing with: nothing to refresh, as in Dendrite.
    r = p.kit_a.request("POST", "/_dendrite/admin/refreshDevices/"
                        f"{quote('@someone:unknown.invalid')}", admin.access_token)
    assert r.status_code == 200 and r.json() == {}, r.text
    assert_error(p.kit_a.request("POST", "/_dendrite/admin/refreshDevices/not-a-user",
                                 admin.access_token), 400, "M_INVALID_PARAM")
