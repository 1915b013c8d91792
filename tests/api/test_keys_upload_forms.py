"""``/keys/upload`` accepts every form Synapse accepts — string and signed one-time keys,
string and signed fallback keys (``fallback`` true, false or null), extra signers — and
refuses malformed ones with ``M_BAD_JSON``, never a 500."""

from __future__ import annotations

from typing import Any

from signedjson.sign import sign_json

from tests.api.test_keys import Crypto, claim, random_key, setup_device, upload
from tests.kit import Kit, assert_error


def signed_key(crypto: Crypto, **fields: Any) -> dict[str, Any]:
    """A one-time key object with ``fields``, signed by the device as it stands."""
    return sign_json({"key": random_key(), **fields}, crypto.user.user_id, crypto.key)


def test_accepted_forms(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    crypto = setup_device(kit, alice)
    signed = crypto.otk()
    with_other_signer = crypto.otk()
    with_other_signer["signatures"]["@someone:elsewhere"] = {"ed25519:X": "c2ln"}
    forms: dict[str, Any] = {
        "curve25519:plain": random_key(),
        "signed_curve25519:signed": signed,
        "signed_curve25519:fb_false": signed_key(crypto, fallback=False),
        "signed_curve25519:fb_null": signed_key(crypto, fallback=None),
        "signed_curve25519:other": with_other_signer,
    }
    r = upload(kit, crypto, one_time_keys=forms)
    assert r.status_code == 200, r.text
    assert r.json()["one_time_key_counts"] == {"curve25519": 1, "signed_curve25519": 4}
    for fallback in ({"curve25519:fb": random_key()},
                     {"signed_curve25519:fb": crypto.otk(True)},
                     {"signed_curve25519:fb2": signed_key(crypto, fallback=None)}):
        r = upload(kit, crypto, fallback_keys=fallback)
        assert r.status_code == 200, r.text
    # What was uploaded is what is claimed, signatures and all.
    got = claim(kit, bob, {alice.user_id: {alice.device_id: "curve25519"}})
    assert list(got["one_time_keys"][alice.user_id][alice.device_id].values()) == \
        [forms["curve25519:plain"]]


def test_malformed_forms_are_bad_json(kit: Kit) -> None:
    alice = kit.register_user()
    crypto = setup_device(kit, alice)
    good = crypto.otk()
    for body in ({"one_time_keys": {"signed_curve25519:a": dict(good, fallback="yes")}},
                 {"one_time_keys": {"signed_curve25519:a": dict(good, signatures=None)}},
                 {"one_time_keys": {"signed_curve25519:a": None}},
                 {"one_time_keys": {"signed_curve25519:a": [good]}},
                 {"one_time_keys": {"no_colon": random_key()}},
                 {"fallback_keys": {"signed_curve25519:a": 1}},
                 {"fallback_keys": []},
                 {"device_keys": dict(crypto.device_keys(), signatures=[])}):
        assert_error(upload(kit, crypto, **body), 400, "M_BAD_JSON")
