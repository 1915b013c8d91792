"""Signing against the spec's cryptographic test vectors (appendices)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from glia.protocol import signing
from glia.protocol.events import add_hashes
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS
from glia.protocol.signing import SignatureError

SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
V1, V4, V8, V11 = (KNOWN_ROOM_VERSIONS[n] for n in ("1", "4", "8", "11"))


@pytest.fixture
def key() -> signing.SigningKey:
    return signing.signing_key_from_seed(SEED, "1")


def test_json_signing_vectors(key: signing.SigningKey) -> None:
    assert signing.key_id(key) == "ed25519:1"
    assert signing.sign_json({}, "domain", key) == {
        "signatures": {
            "domain": {
                "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/"
                "7Xg4ahLwYGYZzuHGZKM5ZAQ"
            }
        }
    }
    assert signing.sign_json({"one": 1, "two": "Two"}, "domain", key) == {
        "one": 1,
        "signatures": {
            "domain": {
                "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZ"
                "hG6kYdD13EIMJpvhJI+6Bw"
            }
        },
        "two": "Two",
    }


def test_event_signing_vector_minimal(key: signing.SigningKey) -> None:
    event: dict[str, Any] = {
        "room_id": "!x:domain",
        "sender": "@a:domain",
        "origin": "domain",
        "origin_server_ts": 1000000,
        "signatures": {},
        "hashes": {},
        "type": "X",
        "content": {},
        "prev_events": [],
        "auth_events": [],
        "depth": 3,
        "unsigned": {"age_ts": 1000000},
    }
    signed = signing.sign_event(add_hashes(event), V1, "domain", key)
    assert signed == {
        "auth_events": [],
        "content": {},
        "depth": 3,
        "hashes": {"sha256": "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"},
        "origin": "domain",
        "origin_server_ts": 1000000,
        "prev_events": [],
        "room_id": "!x:domain",
        "sender": "@a:domain",
        "signatures": {
            "domain": {
                "ed25519:1": "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5"
                "KLjAWbOoMszkwsQma+lYAg"
            }
        },
        "type": "X",
        "unsigned": {"age_ts": 1000000},
    }


def _message_vector(key: signing.SigningKey) -> dict[str, Any]:
    event = {
        "content": {"body": "Here is the message content"},
        "event_id": "$0:domain",
        "origin": "domain",
        "origin_server_ts": 1000000,
        "type": "m.room.message",
        "room_id": "!r:domain",
        "sender": "@u:domain",
        "signatures": {},
        "unsigned": {"age_ts": 1000000},
    }
    return signing.sign_event(add_hashes(event), V1, "domain", key)


def test_event_signing_vector_redactable(key: signing.SigningKey) -> None:
    signed = _message_vector(key)
    assert signed["hashes"] == {"sha256": "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"}
    assert signed["signatures"] == {
        "domain": {
            "ed25519:1": "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eY"
            "HYMGCA5McEiVPdhzBA"
        }
    }


def test_verify_event_signatures_and_content_hash(key: signing.SigningKey) -> None:
    signed = _message_vector(key)
    vk = signing.verify_key_of(key)
    keys = {"domain": {"ed25519:1": vk}}
    signing.verify_event_signatures(signed, V1, keys)
    assert signing.check_content_hash(signed)

    # A redacted copy still verifies (signatures cover the redacted form) but its
    # content hash no longer matches.
    redacted = copy.deepcopy(signed)
    redacted["content"] = {}
    signing.verify_event_signatures(redacted, V1, keys)
    assert not signing.check_content_hash(redacted)

    # Tampering with a protected key breaks the signature.
    tampered = dict(signed, sender="@mallory:domain")
    with pytest.raises(SignatureError):
        signing.verify_event_signatures(tampered, V1, keys)
    # No known key for the signer.
    with pytest.raises(SignatureError, match="no known key"):
        signing.verify_event_signatures(signed, V1, {})
    other = signing.generate_signing_key("2")
    with pytest.raises(SignatureError, match="no known key"):
        signing.verify_event_signatures(
            signed, V1, {"domain": {"ed25519:2": signing.verify_key_of(other)}}
        )


def test_verify_json_roundtrip_and_failure(key: signing.SigningKey) -> None:
    vk = signing.verify_key_of(key)
    obj = signing.sign_json({"a": 1, "unsigned": {"x": 1}}, "hs", key)
    signing.verify_json(obj, "hs", vk)
    signing.verify_json(dict(obj, unsigned={"y": 2}), "hs", vk)  # unsigned is not covered
    with pytest.raises(SignatureError):
        signing.verify_json(dict(obj, a=2), "hs", vk)
    with pytest.raises(SignatureError, match="missing"):
        signing.verify_json(obj, "other", vk)


def test_required_signing_servers() -> None:
    ev = {"sender": "@a:one", "event_id": "$x:two", "type": "m.room.message", "content": {}}
    assert signing.required_signing_servers(ev, V1) == {"one", "two"}
    assert signing.required_signing_servers(ev, V4) == {"one"}
    join = {
        "sender": "@a:one",
        "type": "m.room.member",
        "state_key": "@a:one",
        "content": {"membership": "join", "join_authorised_via_users_server": "@b:three"},
    }
    assert signing.required_signing_servers(join, V8) == {"one", "three"}
    assert signing.required_signing_servers(join, V4) == {"one"}


def test_key_file_format_roundtrip(key: signing.SigningKey) -> None:
    text = signing.serialize_signing_keys([key])
    # The spec's seed has non-zero padding bits, so compare the decoded key, not text.
    assert text.startswith("ed25519 1 ") and text.endswith("\n")
    (parsed,) = signing.parse_signing_keys("\n" + text + "\n")
    assert signing.key_id(parsed) == "ed25519:1"
    assert signing.verify_key_base64(signing.verify_key_of(parsed)) == signing.verify_key_base64(
        signing.verify_key_of(key)
    )
    generated = signing.generate_signing_key()
    assert generated.version.startswith("a_")
    with pytest.raises(ValueError):
        signing.parse_signing_keys("ed25519 onlytwo")
    vk_b64 = signing.verify_key_base64(signing.verify_key_of(key))
    vk = signing.decode_verify_key("ed25519:1", vk_b64)
    signing.verify_json(signing.sign_json({}, "s", key), "s", vk)


def test_third_party_signed() -> None:
    id_key = signing.generate_signing_key("0")
    public = signing.verify_key_base64(signing.verify_key_of(id_key))
    urlsafe = public.replace("+", "-").replace("/", "_")
    signed = signing.sign_json({"mxid": "@b:x", "token": "t"}, "id.test", id_key)
    assert signing.third_party_signed_is_valid(signed, {"public_key": public})
    assert signing.third_party_signed_is_valid(
        signed, {"public_key": "AAAA", "public_keys": [{"public_key": urlsafe}]}
    )
    assert not signing.third_party_signed_is_valid(signed, {"public_key": "AAAA"})
    tampered = dict(signed, mxid="@c:x")
    assert not signing.third_party_signed_is_valid(tampered, {"public_key": public})
    assert not signing.third_party_signed_is_valid({"mxid": "@b:x"}, {"public_key": public})
