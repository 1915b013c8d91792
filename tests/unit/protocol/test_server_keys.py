"""Our key response, and the checks on another server's."""

from __future__ import annotations

import copy

import pytest

from glia.protocol import signing
from glia.protocol.server_keys import (
    OWN_KEY_LIFETIME_MS,
    KeyResponseError,
    OldKey,
    ServerKey,
    check_key_response,
    notarise,
    own_key_response,
)

NOW = 1_700_000_000_000


@pytest.fixture
def key() -> signing.SigningKey:
    return signing.generate_signing_key("new")


def test_own_response_is_self_signed_and_lists_old_keys(key: signing.SigningKey) -> None:
    old = OldKey("ed25519:old", "b2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2w", NOW - 5)
    response = own_key_response("hs.example", key, [old], NOW)
    assert response["valid_until_ts"] == NOW + OWN_KEY_LIFETIME_MS
    assert response["old_verify_keys"] == {
        "ed25519:old": {"key": old.verify_key, "expired_ts": NOW - 5}}
    keys = check_key_response(response, "hs.example")
    assert keys == [
        ServerKey("hs.example", "ed25519:new",
                  signing.verify_key_base64(signing.verify_key_of(key)),
                  NOW + OWN_KEY_LIFETIME_MS, expired=False),
        ServerKey("hs.example", "ed25519:old", old.verify_key, NOW - 5, expired=True),
    ]


def test_the_current_key_is_never_listed_as_old(key: signing.SigningKey) -> None:
    public = signing.verify_key_base64(signing.verify_key_of(key))
    response = own_key_response("hs.example", key, [OldKey("ed25519:new", public, 1)], NOW)
    assert response["old_verify_keys"] == {}


def test_notary_signature_keeps_the_origin_signature(key: signing.SigningKey) -> None:
    notary_key = signing.generate_signing_key("n")
    signed = notarise(own_key_response("hs.example", key, [], NOW), "notary.example",
                      notary_key)
    assert set(signed["signatures"]) == {"hs.example", "notary.example"}
    signing.verify_json(signed, "notary.example", signing.verify_key_of(notary_key))
    assert check_key_response(signed, "hs.example")[0].key_id == "ed25519:new"


def _tampered(response: dict, path: list[str], value: object) -> dict:
    out = copy.deepcopy(response)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


@pytest.mark.parametrize("path, value", [
    (["server_name"], "other.example"),
    (["valid_until_ts"], NOW + 10 ** 9),  # signature no longer matches
    (["valid_until_ts"], "soon"),
    (["verify_keys"], []),
    (["verify_keys"], {}),
    (["verify_keys", "ed25519:new", "key"], 5),
    (["old_verify_keys"], {"ed25519:o": {"key": "x"}}),
    (["signatures"], {}),
])
def test_bad_responses_are_refused(key: signing.SigningKey, path: list[str],
                                   value: object) -> None:
    response = own_key_response("hs.example", key, [], NOW)
    with pytest.raises(KeyResponseError):
        check_key_response(_tampered(response, path, value), "hs.example")


def test_a_response_signed_by_another_key_is_refused(key: signing.SigningKey) -> None:
    response = own_key_response("hs.example", key, [], NOW)
    impostor = signing.generate_signing_key("new")
    forged = signing.sign_json({k: v for k, v in response.items() if k != "signatures"},
                               "hs.example", impostor)
    with pytest.raises(KeyResponseError, match="not signed"):
        check_key_response(forged, "hs.example")


def test_not_an_object() -> None:
    with pytest.raises(KeyResponseError):
        check_key_response(["x"], "hs.example")
