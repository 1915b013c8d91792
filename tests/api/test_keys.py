"""End-to-end encryption keys over raw HTTP: upload (with signature checks), query, claim
(one-time then fallback keys; concurrent claims never share a key), changes, device
deletion, and cross-signing keys and signatures.

The clients here hold real ed25519 keys and sign with signedjson, as a real client does.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from signedjson.key import encode_verify_key_base64, generate_signing_key, get_verify_key
from signedjson.sign import sign_json
from signedjson.types import SigningKey
from unpaddedbase64 import encode_base64

from glia.config import Config
from glia.storage import open_storage
from tests.kit import Kit, User, assert_error, create_room, unique

V3 = "/_matrix/client/v3"
UPLOAD, QUERY, CLAIM = f"{V3}/keys/upload", f"{V3}/keys/query", f"{V3}/keys/claim"
CHANGES = f"{V3}/keys/changes"
SIGNING_UPLOAD, SIGNATURES_UPLOAD = (f"{V3}/keys/device_signing/upload",
                                     f"{V3}/keys/signatures/upload")


def random_key() -> str:
    return encode_base64(os.urandom(32))


class Crypto:
    """One device's identity key, as a client holds it."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.key: SigningKey = generate_signing_key(user.device_id)
        self.public = encode_verify_key_base64(get_verify_key(self.key))

    def device_keys(self, **overrides: Any) -> dict[str, Any]:
        dev = self.user.device_id
        body = {
            "user_id": self.user.user_id, "device_id": dev,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {f"curve25519:{dev}": random_key(), f"ed25519:{dev}": self.public},
        }
        body.update(overrides)
        return sign_json(body, self.user.user_id, self.key)

    def otk(self, fallback: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"key": random_key()}
        if fallback:
            body["fallback"] = True
        return sign_json(body, self.user.user_id, self.key)

    def otks(self, count: int, prefix: str = "k") -> dict[str, Any]:
        return {f"signed_curve25519:{prefix}{i:04d}": self.otk() for i in range(count)}


def upload(kit: Kit, crypto: Crypto, **body: Any) -> httpx.Response:
    return kit.request("POST", UPLOAD, crypto.user.access_token, json=body)


def setup_device(kit: Kit, user: User, otks: int = 0) -> Crypto:
    crypto = Crypto(user)
    r = upload(kit, crypto, device_keys=crypto.device_keys(), one_time_keys=crypto.otks(otks))
    assert r.status_code == 200, r.text
    assert r.json()["one_time_key_counts"]["signed_curve25519"] == otks
    return crypto


def query(kit: Kit, who: User, users: dict[str, list[str]]) -> dict[str, Any]:
    r = kit.request("POST", QUERY, who.access_token, json={"device_keys": users})
    assert r.status_code == 200, r.text
    return dict(r.json())


def claim(kit: Kit, who: User, wanted: dict[str, dict[str, str]]) -> dict[str, Any]:
    r = kit.request("POST", CLAIM, who.access_token, json={"one_time_keys": wanted})
    assert r.status_code == 200, r.text
    return dict(r.json())


def join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"{V3}/join/{room_id}", user.access_token, json={})
    assert r.status_code == 200, r.text


def changes(kit: Kit, user: User, since: str, to: str | None = None) -> dict[str, Any]:
    params = {"from": since}
    if to is not None:
        params["to"] = to
    r = kit.request("GET", CHANGES, user.access_token, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def stream_token(kit: Kit, user: User) -> str:
    """A token for "now": an initial /sync's next_batch."""
    r = kit.request("GET", f"{V3}/sync", user.access_token, params={"timeout": "0"})
    if r.status_code == 404:
        pytest.skip("/sync is not served yet")
    assert r.status_code == 200, r.text
    return str(r.json()["next_batch"])


# -- upload ------------------------------------------------------------------------------


def test_upload_and_query_device_keys(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    kit.request("PUT", f"{V3}/devices/{alice.device_id}", alice.access_token,
                json={"display_name": "Alice's phone"})
    crypto = setup_device(kit, alice, otks=5)
    r = upload(kit, crypto, one_time_keys=crypto.otks(3, prefix="more"))
    assert r.json() == {"one_time_key_counts": {"signed_curve25519": 8}}

    result = query(kit, bob, {alice.user_id: []})
    device = result["device_keys"][alice.user_id][alice.device_id]
    assert device["keys"][f"ed25519:{alice.device_id}"] == crypto.public
    assert device["unsigned"] == {"device_display_name": "Alice's phone"}
    assert alice.user_id in device["signatures"]
    assert result["failures"] == {}
    # A device list naming devices returns just those; unknown ones are left out.
    only = query(kit, bob, {alice.user_id: [alice.device_id, "NOSUCH"]})
    assert list(only["device_keys"][alice.user_id]) == [alice.device_id]
    # A user without keys is there, with no devices; a remote one is a failure.
    empty = query(kit, alice, {bob.user_id: [], "@someone:elsewhere.example": []})
    assert empty["device_keys"][bob.user_id] == {}
    assert "elsewhere.example" in empty["failures"]
    # An empty upload just reports the counts.
    assert upload(kit, crypto).json() == {"one_time_key_counts": {"signed_curve25519": 8}}


def test_upload_must_match_requester(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    crypto = Crypto(alice)
    other = Crypto(bob)
    r = upload(kit, crypto, device_keys=crypto.device_keys(user_id=bob.user_id))
    assert_error(r, 400, "M_BAD_JSON")
    r = upload(kit, crypto, device_keys=crypto.device_keys(device_id="OTHERDEV"))
    assert_error(r, 400, "M_BAD_JSON")
    # Bob's genuine, validly signed keys cannot be uploaded with Alice's token.
    assert_error(upload(kit, crypto, device_keys=other.device_keys()), 400, "M_BAD_JSON")


def test_upload_signature_checks(kit: Kit) -> None:
    alice = kit.register_user()
    crypto = Crypto(alice)
    keys = crypto.device_keys()
    # Tampered after signing.
    tampered = dict(keys, algorithms=["m.megolm.v1.aes-sha2"])
    assert_error(upload(kit, crypto, device_keys=tampered), 400, "M_INVALID_SIGNATURE")
    # Signed by some other key.
    impostor = Crypto(alice)
    forged = impostor.device_keys()
    forged["keys"][f"ed25519:{alice.device_id}"] = crypto.public
    assert_error(upload(kit, crypto, device_keys=forged), 400, "M_INVALID_SIGNATURE")
    # No signature at all.
    unsigned = {k: v for k, v in keys.items() if k != "signatures"}
    assert_error(upload(kit, crypto, device_keys=unsigned), 400, "M_BAD_JSON")
    unsigned["signatures"] = {}
    assert_error(upload(kit, crypto, device_keys=unsigned), 400, "M_INVALID_SIGNATURE")
    # Nothing was stored by any of those.
    assert query(kit, alice, {alice.user_id: []})["device_keys"][alice.user_id] == {}
    # One-time keys signed by another key are refused once the device key is known.
    assert upload(kit, crypto, device_keys=keys).status_code == 200
    r = upload(kit, crypto, one_time_keys={"signed_curve25519:bad": impostor.otk()})
    assert_error(r, 400, "M_INVALID_SIGNATURE")
    r = upload(kit, crypto, fallback_keys={"signed_curve25519:bad": impostor.otk(True)})
    assert_error(r, 400, "M_INVALID_SIGNATURE")


def test_upload_bad_formats(kit: Kit) -> None:
    alice = kit.register_user()
    crypto = Crypto(alice)
    dev = alice.device_id
    good = crypto.device_keys()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"device_keys": None}, "M_BAD_JSON"),
        ({"device_keys": "keys"}, "M_BAD_JSON"),
        ({"device_keys": dict(good, keys=["x"])}, "M_BAD_JSON"),
        ({"device_keys": dict(good, algorithms="m.megolm.v1.aes-sha2")}, "M_BAD_JSON"),
        ({"device_keys": dict(good, keys={f"ed25519:{dev}": 5})}, "M_BAD_JSON"),
        ({"device_keys": dict(good, signatures={alice.user_id: "sig"})}, "M_BAD_JSON"),
        # The device's own ed25519 key is required, and must be a real key.
        ({"device_keys": crypto.device_keys(keys={f"curve25519:{dev}": random_key()})},
         "M_INVALID_PARAM"),
        ({"device_keys": crypto.device_keys(keys={f"ed25519:{dev}": "not base64!"})},
         "M_INVALID_PARAM"),
        ({"device_keys": crypto.device_keys(keys={f"ed25519:{dev}": encode_base64(b"x" * 5)})},
         "M_INVALID_PARAM"),
        ({"one_time_keys": {"nocolon": random_key()}}, "M_BAD_JSON"),
        ({"one_time_keys": {"a:b:c": random_key()}}, "M_BAD_JSON"),
        ({"one_time_keys": {"signed_curve25519:x": 42}}, "M_BAD_JSON"),
        ({"one_time_keys": {"signed_curve25519:x": {"key": 1, "signatures": {}}}},
         "M_BAD_JSON"),
        ({"one_time_keys": {"signed_curve25519:x": {"key": random_key()}}}, "M_BAD_JSON"),
        ({"one_time_keys": ["signed_curve25519:x"]}, "M_BAD_JSON"),
        ({"fallback_keys": "key"}, "M_BAD_JSON"),
        ({"fallback_keys": {"signed_curve25519:a": crypto.otk(True),
                            "signed_curve25519:b": crypto.otk(True)}}, "M_INVALID_PARAM"),
    ]
    for body, errcode in cases:
        assert_error(upload(kit, crypto, **body), 400, errcode)
    r = kit.request("POST", UPLOAD, alice.access_token, content=b"[1]")
    assert_error(r, 400, "M_BAD_JSON")
    r = kit.request("POST", UPLOAD, alice.access_token, content=b"{nope")
    assert_error(r, 400, "M_NOT_JSON")


def test_one_time_key_reupload(kit: Kit) -> None:
    alice = kit.register_user()
    crypto = setup_device(kit, alice)
    key = crypto.otk()
    assert upload(kit, crypto, one_time_keys={"signed_curve25519:AAAA": key}).status_code == 200
    # The same key again (e.g. a retried request) is fine and counted once.
    r = upload(kit, crypto, one_time_keys={"signed_curve25519:AAAA": key})
    assert r.json()["one_time_key_counts"]["signed_curve25519"] == 1
    # Another key under the same ID is refused, as Synapse does.
    r = upload(kit, crypto, one_time_keys={"signed_curve25519:AAAA": crypto.otk()})
    assert_error(r, 400, "M_UNKNOWN")


# -- claim -------------------------------------------------------------------------------


def test_claim_one_time_then_fallback(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    crypto = setup_device(kit, alice)
    first = {"signed_curve25519:first": crypto.otk()}
    assert upload(kit, crypto, one_time_keys=first).status_code == 200
    second = {"signed_curve25519:second": crypto.otk()}
    assert upload(kit, crypto, one_time_keys=second).status_code == 200
    fallback = {"signed_curve25519:fb": crypto.otk(fallback=True)}
    assert upload(kit, crypto, fallback_keys=fallback).status_code == 200

    wanted = {alice.user_id: {alice.device_id: "signed_curve25519"}}
    got = claim(kit, bob, wanted)["one_time_keys"][alice.user_id][alice.device_id]
    assert got == first  # oldest upload first
    got = claim(kit, bob, wanted)["one_time_keys"][alice.user_id][alice.device_id]
    assert got == second
    r = upload(kit, crypto)
    assert r.json()["one_time_key_counts"] == {"signed_curve25519": 0}
    # Out of one-time keys: the fallback key, as often as asked.
    for _ in range(2):
        got = claim(kit, bob, wanted)["one_time_keys"][alice.user_id][alice.device_id]
        assert got == fallback
    # Unknown devices, algorithms without keys and remote users.
    result = claim(kit, bob, {alice.user_id: {"NOSUCH": "signed_curve25519"},
                              bob.user_id: {bob.device_id: "signed_curve25519"},
                              "@x:remote.example": {"DEV": "signed_curve25519"}})
    assert result["one_time_keys"] == {}
    assert "remote.example" in result["failures"]


def test_claim_bad_input(kit: Kit) -> None:
    alice = kit.register_user()
    for body in ({}, {"one_time_keys": []}, {"one_time_keys": {alice.user_id: "DEV"}},
                 {"one_time_keys": {alice.user_id: {"DEV": 5}}}):
        assert_error(kit.request("POST", CLAIM, alice.access_token, json=body), 400,
                     "M_BAD_JSON")
    for body in ({}, {"device_keys": []}, {"device_keys": {alice.user_id: "DEV"}},
                 {"device_keys": {alice.user_id: [1]}}):
        assert_error(kit.request("POST", QUERY, alice.access_token, json=body), 400,
                     "M_BAD_JSON")


def test_concurrent_claims_never_share_a_key(kit: Kit) -> None:
    alice = kit.register_user()
    claimers = [kit.register_user() for _ in range(4)]
    crypto = setup_device(kit, alice, otks=30)
    wanted = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}

    def one_claim(i: int) -> list[str]:
        who = claimers[i % len(claimers)]
        with httpx.Client(base_url=kit.base_url, timeout=30) as http:
            r = http.post(CLAIM, json=wanted,
                          headers={"Authorization": f"Bearer {who.access_token}"})
        assert r.status_code == 200, r.text
        return list(r.json()["one_time_keys"].get(alice.user_id, {})
                    .get(alice.device_id, {}))

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(one_claim, range(45)))
    claimed = [key_id for keys in results for key_id in keys]
    assert len(claimed) == 30
    assert len(set(claimed)) == 30
    assert sum(1 for keys in results if not keys) == 15
    assert upload(kit, crypto).json()["one_time_key_counts"]["signed_curve25519"] == 0


@pytest.fixture
def fresh_database_url(new_database_url: Callable[[], str]) -> str:
    # Synchronous: creating a PostgreSQL database runs an event loop of its own.
    return new_database_url()


async def test_concurrent_claims_in_the_store(fresh_database_url: str) -> None:
    """The same race without HTTP in between, each claimer holding its transaction open
    a moment after claiming, so claims really overlap (on PostgreSQL: many connections)."""
    url = fresh_database_url
    config = Config(database=dataclasses.replace(Config().database, url=url,
                                                 sqlite_synchronous="normal"))
    storage = await open_storage(config)
    try:
        async with storage.transaction() as tx:
            await tx.users.create("@owner:test", None, admin=False, user_type=None,
                                  creation_ts=1)
            await tx.devices.upsert("@owner:test", "DEV", None, 1)
            await tx.keys.add_one_time_keys("@owner:test", "DEV", 1, [
                ("signed_curve25519", f"k{i:03d}", '{"key":"x"}') for i in range(40)])

        async def one_claim() -> str | None:
            async with storage.transaction() as tx:
                key = await tx.keys.claim_one_time_key("@owner:test", "DEV",
                                                       "signed_curve25519")
                # Held open on purpose, so the claims overlap (what is under test).
                await asyncio.sleep(0.02)
            return None if key is None else key.key_id

        results = await asyncio.gather(*(one_claim() for _ in range(50)))
        claimed = [r for r in results if r is not None]
        assert len(claimed) == 40 and len(set(claimed)) == 40
        assert await storage.keys.count_one_time_keys("@owner:test", "DEV") == {}
    finally:
        await storage.close()


# -- changes and device deletion ----------------------------------------------------------


def test_changes_and_device_deletion(kit: Kit) -> None:
    alice, bob, stranger = kit.register_user(), kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    join(kit, bob, room_id)
    before = stream_token(kit, alice)
    bob_phone = kit.login(bob.user_id, device_id=unique("PHONE"))
    setup_device(kit, bob_phone)
    setup_device(kit, stranger)
    after = stream_token(kit, alice)
    seen = changes(kit, alice, before, after)
    assert bob.user_id in seen["changed"]
    assert stranger.user_id not in seen["changed"]
    # The bare stream position is accepted too; an empty window has no changes.
    assert changes(kit, alice, after.removeprefix("s"), after) == {"changed": [], "left": []}

    # Deleting the device (behind UIA) removes its keys and is a device-list change.
    assert query(kit, alice, {bob.user_id: []})["device_keys"][bob.user_id].keys() == {
        bob_phone.device_id}
    r = kit.request("DELETE", f"{V3}/devices/{bob_phone.device_id}", bob.access_token,
                    json={"auth": {"type": "m.login.password", "password": bob.password,
                                   "identifier": {"type": "m.id.user", "user": bob.user_id}}})
    assert r.status_code == 200, r.text
    assert query(kit, alice, {bob.user_id: []})["device_keys"][bob.user_id] == {}
    assert bob.user_id in changes(kit, alice, after)["changed"]
    # Its unclaimed one-time keys went with it.
    got = claim(kit, alice, {bob.user_id: {bob_phone.device_id: "signed_curve25519"}})
    assert got["one_time_keys"] == {}

    # Bob leaves: Alice is told she no longer shares a room with him.
    mark = stream_token(kit, alice)
    r = kit.request("POST", f"{V3}/rooms/{room_id}/leave", bob.access_token, json={})
    assert r.status_code == 200, r.text
    left = changes(kit, alice, mark)
    assert left["left"] == [bob.user_id]
    assert bob.user_id not in left["changed"]
    # Someone joining a shared room is "changed" for Alice (their keys are new to her).
    mark = stream_token(kit, alice)
    join(kit, stranger, room_id)
    assert stranger.user_id in changes(kit, alice, mark)["changed"]


def test_changes_bad_tokens(kit: Kit) -> None:
    alice = kit.register_user()
    assert_error(kit.request("GET", CHANGES, alice.access_token), 400, "M_MISSING_PARAM")
    for token in ("abc", "s", "s-1", "t12", "12_3"):
        r = kit.request("GET", CHANGES, alice.access_token, params={"from": token})
        assert_error(r, 400, "M_INVALID_PARAM")
    r = kit.request("GET", CHANGES, alice.access_token, params={"from": "s1", "to": "x"})
    assert_error(r, 400, "M_INVALID_PARAM")


# -- cross-signing ------------------------------------------------------------------------


class CrossSigning:
    """A user's master, self-signing and user-signing keys."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.master, self.master_pub = self._new()
        self.ssk, self.ssk_pub = self._new()
        self.usk, self.usk_pub = self._new()

    @staticmethod
    def _new() -> tuple[SigningKey, str]:
        key = generate_signing_key("tmp")
        public = encode_verify_key_base64(get_verify_key(key))
        key.version = public
        return key, public

    def key(self, usage: str, public: str, signer: SigningKey | None = None
            ) -> dict[str, Any]:
        body = {"user_id": self.user.user_id, "usage": [usage],
                "keys": {f"ed25519:{public}": public}}
        return sign_json(body, self.user.user_id, signer) if signer else body

    def upload_body(self) -> dict[str, Any]:
        return {"master_key": self.key("master", self.master_pub),
                "self_signing_key": self.key("self_signing", self.ssk_pub, self.master),
                "user_signing_key": self.key("user_signing", self.usk_pub, self.master)}


def password_auth(user: User, session: str) -> dict[str, Any]:
    return {"type": "m.login.password", "password": user.password, "session": session,
            "identifier": {"type": "m.id.user", "user": user.user_id}}


def test_cross_signing_upload_and_query(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    cs = CrossSigning(alice)
    body = cs.upload_body()
    # The first upload needs no UIA; the same keys again neither (a lost response).
    for _ in range(2):
        r = kit.request("POST", SIGNING_UPLOAD, alice.access_token, json=body)
        assert r.status_code == 200 and r.json() == {}, r.text
    mine = query(kit, alice, {alice.user_id: []})
    assert mine["master_keys"][alice.user_id]["keys"] == {f"ed25519:{cs.master_pub}":
                                                          cs.master_pub}
    assert alice.user_id in mine["self_signing_keys"]
    assert alice.user_id in mine["user_signing_keys"]
    theirs = query(kit, bob, {alice.user_id: []})
    assert alice.user_id in theirs["master_keys"]
    assert alice.user_id in theirs["self_signing_keys"]
    assert theirs["user_signing_keys"] == {}  # only its owner sees a user-signing key

    # Replacing them needs the password.
    new = CrossSigning(alice)
    r = kit.request("POST", SIGNING_UPLOAD, alice.access_token, json=new.upload_body())
    assert r.status_code == 401, r.text
    session = r.json()["session"]
    assert {"stages": ["m.login.password"]} in r.json()["flows"]
    # The session is bound to these keys: other keys cannot ride on it.
    other = CrossSigning(alice).upload_body()
    r = kit.request("POST", SIGNING_UPLOAD, alice.access_token,
                    json=dict(other, auth=password_auth(alice, session)))
    assert_error(r, 403, "M_FORBIDDEN")
    r = kit.request("POST", SIGNING_UPLOAD, alice.access_token,
                    json=dict(new.upload_body(), auth=password_auth(alice, session)))
    assert r.status_code == 200, r.text
    master = query(kit, bob, {alice.user_id: []})["master_keys"][alice.user_id]
    assert master["keys"] == {f"ed25519:{new.master_pub}": new.master_pub}


def test_cross_signing_bad_keys(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    cs = CrossSigning(alice)
    post = lambda body: kit.request(  # noqa: E731
        "POST", SIGNING_UPLOAD, alice.access_token, json=body)
    # No master key anywhere to check the others against.
    r = post({"self_signing_key": cs.key("self_signing", cs.ssk_pub, cs.master)})
    assert_error(r, 400, "M_MISSING_PARAM")
    # A self-signing key not signed by the master key.
    r = post({"master_key": cs.key("master", cs.master_pub),
              "self_signing_key": cs.key("self_signing", cs.ssk_pub, cs.usk)})
    assert_error(r, 400, "M_INVALID_SIGNATURE")
    bad_keys: list[dict[str, Any]] = [
        dict(cs.key("master", cs.master_pub), user_id=bob.user_id),
        dict(cs.key("master", cs.master_pub), usage=["self_signing"]),
        dict(cs.key("master", cs.master_pub), keys={}),
        dict(cs.key("master", cs.master_pub), keys={"ed25519:abc": cs.master_pub}),
        dict(cs.key("master", cs.master_pub), keys={"ed25519:abc": "abc"}),
        dict(cs.key("master", cs.master_pub), keys={f"curve25519:{cs.master_pub}":
                                                    cs.master_pub}),
    ]
    for key in bad_keys:
        assert_error(post({"master_key": key}), 400, "M_INVALID_PARAM")
    assert_error(post({"master_key": "key"}), 400, "M_BAD_JSON")
    # Nothing was stored, so a good first upload still needs no UIA.
    assert post(cs.upload_body()).status_code == 200
    assert query(kit, bob, {alice.user_id: []})["master_keys"][alice.user_id]


def test_signatures_upload(kit: Kit) -> None:
    alice, bob, carol = kit.register_user(), kit.register_user(), kit.register_user()
    a_dev = setup_device(kit, alice)
    a_cs, b_cs = CrossSigning(alice), CrossSigning(bob)
    for user, cs in ((alice, a_cs), (bob, b_cs)):
        r = kit.request("POST", SIGNING_UPLOAD, user.access_token, json=cs.upload_body())
        assert r.status_code == 200, r.text
    stored_device = query(kit, alice, {alice.user_id: []})["device_keys"][alice.user_id][
        alice.device_id]
    device = {k: v for k, v in stored_device.items() if k != "unsigned"}
    # signedjson signs in place, so every signature starts from its own copy.
    signed_device = sign_json(copy.deepcopy(device), alice.user_id, a_cs.ssk)
    b_master = b_cs.key("master", b_cs.master_pub)
    signed_master = sign_json(b_master, alice.user_id, a_cs.usk)
    # The master key signed by Alice's own device (migrating device verification).
    a_master_by_device = sign_json(a_cs.key("master", a_cs.master_pub), alice.user_id,
                                   a_dev.key)
    forged = sign_json(copy.deepcopy(device), alice.user_id, a_cs.usk)  # wrong key for a device
    forged["signatures"][alice.user_id][f"ed25519:{a_cs.ssk_pub}"] = (
        forged["signatures"][alice.user_id].pop(f"ed25519:{a_cs.usk_pub}"))
    body = {
        alice.user_id: {alice.device_id: signed_device, a_cs.master_pub: a_master_by_device,
                        "NOSUCHDEVICE": signed_device},
        bob.user_id: {b_cs.master_pub: signed_master, "NOTAKEY": signed_master},
    }
    r = kit.request("POST", SIGNATURES_UPLOAD, alice.access_token, json=body)
    assert r.status_code == 200, r.text
    failures = r.json()["failures"]
    assert set(failures) == {alice.user_id, bob.user_id}
    assert set(failures[alice.user_id]) == {"NOSUCHDEVICE"}, failures
    assert failures[alice.user_id]["NOSUCHDEVICE"]["errcode"] == "M_NOT_FOUND"
    assert set(failures[bob.user_id]) == {"NOTAKEY"}

    # Everyone sees Alice's device signed by her self-signing key.
    seen = query(kit, carol, {alice.user_id: []})
    sigs = seen["device_keys"][alice.user_id][alice.device_id]["signatures"][alice.user_id]
    assert f"ed25519:{a_cs.ssk_pub}" in sigs
    master_sigs = seen["master_keys"][alice.user_id]["signatures"][alice.user_id]
    assert f"ed25519:{alice.device_id}" in master_sigs
    # Alice's signature of Bob's master key: visible to Alice, not to Carol nor Bob.
    key_id = f"ed25519:{a_cs.usk_pub}"
    for viewer, visible in ((alice, True), (carol, False), (bob, False)):
        master = query(kit, viewer, {bob.user_id: []})["master_keys"][bob.user_id]
        assert (key_id in master.get("signatures", {}).get(alice.user_id, {})) is visible

    # A bad signature is reported per key; the request still succeeds.
    r = kit.request("POST", SIGNATURES_UPLOAD, alice.access_token,
                    json={alice.user_id: {alice.device_id: forged}})
    assert r.status_code == 200, r.text
    failure = r.json()["failures"][alice.user_id][alice.device_id]
    assert failure["errcode"] == "M_INVALID_SIGNATURE"
    # A key that is not the stored one.
    changed = sign_json(copy.deepcopy(dict(device, algorithms=["x"])), alice.user_id,
                        a_cs.ssk)
    r = kit.request("POST", SIGNATURES_UPLOAD, alice.access_token,
                    json={alice.user_id: {alice.device_id: changed}})
    assert r.json()["failures"][alice.user_id][alice.device_id]["status"] == 400
    # Carol has no user-signing key: her signature of Bob's key fails.
    r = kit.request("POST", SIGNATURES_UPLOAD, carol.access_token,
                    json={bob.user_id: {b_cs.master_pub: signed_master}})
    assert r.json()["failures"][bob.user_id][b_cs.master_pub]["errcode"] == "M_NOT_FOUND"
    # Malformed bodies.
    for bad in ({alice.user_id: []}, {alice.user_id: {alice.device_id: "x"}}):
        r = kit.request("POST", SIGNATURES_UPLOAD, alice.access_token, json=bad)
        assert_error(r, 400, "M_INVALID_PARAM")


# -- the /sync extension -----------------------------------------------------------------


def test_sync_counts_and_device_lists(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    join(kit, bob, room_id)
    crypto = setup_device(kit, alice, otks=4)
    r = kit.request("GET", f"{V3}/sync", alice.access_token, params={"timeout": "0"})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["device_one_time_keys_count"] == {"signed_curve25519": 4}
    assert first["device_unused_fallback_key_types"] == []
    assert upload(kit, crypto, fallback_keys={"signed_curve25519:fb": crypto.otk(True)}
                  ).status_code == 200
    setup_device(kit, bob)
    r = kit.request("GET", f"{V3}/sync", alice.access_token,
                    params={"since": first["next_batch"], "timeout": "0"})
    second = r.json()
    assert second["device_unused_fallback_key_types"] == ["signed_curve25519"]
    assert second["device_lists"]["changed"] == [bob.user_id]
    # Bob takes the four one-time keys and then the fallback key.
    for _ in range(5):
        claim(kit, bob, {alice.user_id: {alice.device_id: "signed_curve25519"}})
    r = kit.request("GET", f"{V3}/sync", alice.access_token,
                    params={"since": second["next_batch"], "timeout": "0"})
    third = r.json()
    assert third["device_one_time_keys_count"] == {"signed_curve25519": 0}
    assert third["device_unused_fallback_key_types"] == []


# -- bodies that are not JSON objects, on every E2E endpoint that takes one ---------------

BODY_ENDPOINTS = [
    ("POST", UPLOAD), ("POST", QUERY), ("POST", CLAIM), ("POST", SIGNING_UPLOAD),
    ("POST", SIGNATURES_UPLOAD), ("PUT", f"{V3}/sendToDevice/m.test/txn1"),
    ("POST", f"{V3}/room_keys/version"), ("PUT", f"{V3}/room_keys/version/1"),
    ("PUT", f"{V3}/room_keys/keys?version=1"),
    ("PUT", f"{V3}/room_keys/keys/!r:localhost?version=1"),
    ("PUT", f"{V3}/room_keys/keys/!r:localhost/s?version=1"),
]


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS,
                         ids=[p.split("/v3/")[1].split("?")[0] for _, p in BODY_ENDPOINTS])
def test_bodies_must_be_json_objects(kit: Kit, method: str, path: str) -> None:
    user = kit.register_user()
    for content, errcode in ((b"", "M_NOT_JSON"), (b"{nope", "M_NOT_JSON"),
                             (b"[]", "M_BAD_JSON"), (b'"text"', "M_BAD_JSON"),
                             (b"[" * 100_000, "M_BAD_JSON")):
        r = kit.request(method, path, user.access_token, content=content,
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (content[:10], r.text)
        assert r.json()["errcode"] in (errcode, "M_NOT_JSON"), r.text
    r = kit.request(method, path, None, json={})
    assert_error(r, 401, "M_MISSING_TOKEN")


def test_logout_and_password_change_are_device_list_changes(kit: Kit) -> None:
    """However a device goes (logout, logout/all, a password change that logs out the
    other sessions), users sharing a room see the device-list change and lose its keys."""
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    join(kit, bob, room_id)
    phones = [kit.login(bob.user_id, device_id=unique("DEV")) for _ in range(3)]
    for device in phones:
        setup_device(kit, device)

    mark = stream_token(kit, alice)
    r = kit.request("POST", f"{V3}/logout", phones[0].access_token, json={})
    assert r.status_code == 200, r.text
    assert bob.user_id in changes(kit, alice, mark)["changed"]
    assert phones[0].device_id not in query(kit, alice, {bob.user_id: []})[
        "device_keys"][bob.user_id]

    mark = stream_token(kit, alice)
    r = kit.request("POST", f"{V3}/account/password", phones[1].access_token, json={
        "new_password": "another long password", "logout_devices": True,
        "auth": {"type": "m.login.password", "password": bob.password,
                 "identifier": {"type": "m.id.user", "user": bob.user_id}}})
    assert r.status_code == 200, r.text
    assert bob.user_id in changes(kit, alice, mark)["changed"]
    remaining = query(kit, alice, {bob.user_id: []})["device_keys"][bob.user_id]
    assert phones[2].device_id not in remaining and phones[1].device_id in remaining

    mark = stream_token(kit, alice)
    r = kit.request("POST", f"{V3}/logout/all", phones[1].access_token, json={})
    assert r.status_code == 200, r.text
    assert bob.user_id in changes(kit, alice, mark)["changed"]
    assert query(kit, alice, {bob.user_id: []})["device_keys"][bob.user_id] == {}
