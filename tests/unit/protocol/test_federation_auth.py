"""X-Matrix request signing and verification, and the header grammar (RFC 9110 11.4)."""

from __future__ import annotations

import pytest

from glia.protocol import signing
from glia.protocol.federation_auth import (
    AuthHeaderError,
    XMatrix,
    authorization_header,
    parse_x_matrix,
    request_json,
    verify_request,
)

SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"


@pytest.fixture
def key() -> signing.SigningKey:
    return signing.signing_key_from_seed(SEED, "1")


def test_header_round_trip_verifies(key: signing.SigningKey) -> None:
    header = authorization_header("POST", "/_matrix/federation/v1/x?a=b", "origin.example",
                                  "dest.example", key, {"k": [1, 2]})
    assert header.startswith('X-Matrix origin="origin.example",destination="dest.example",'
                             'key="ed25519:1",sig="')
    auth = parse_x_matrix(header)
    verify_request(auth, "POST", "/_matrix/federation/v1/x?a=b", "dest.example",
                   {"k": [1, 2]}, signing.verify_key_of(key))


def test_signature_covers_the_spec_object(key: signing.SigningKey) -> None:
    """The signature is the JSON-signing signature of {method, uri, origin, destination,
    content}, so a receiver using the spec's algorithm (here: sign_json) agrees."""
    header = authorization_header("GET", "/target", "o.example", "d.example", key)
    expected = signing.sign_json(request_json("GET", "/target", "o.example", "d.example"),
                                 "o.example", key)["signatures"]["o.example"]["ed25519:1"]
    assert parse_x_matrix(header).sig == expected


@pytest.mark.parametrize("change", [
    {"method": "PUT"}, {"uri": "/other"}, {"content": {"k": [1, 3]}}, {"content": None},
])
def test_any_change_breaks_the_signature(key: signing.SigningKey, change: dict) -> None:
    header = authorization_header("POST", "/t", "o.example", "d.example", key, {"k": [1, 2]})
    args = {"method": "POST", "uri": "/t", "content": {"k": [1, 2]}, **change}
    with pytest.raises(signing.SignatureError):
        verify_request(parse_x_matrix(header), args["method"], args["uri"], "d.example",
                       args["content"], signing.verify_key_of(key))


def test_wrong_destination_is_refused(key: signing.SigningKey) -> None:
    header = authorization_header("GET", "/t", "o.example", "d.example", key)
    with pytest.raises(signing.SignatureError, match=r"for d\.example, not me\.example"):
        verify_request(parse_x_matrix(header), "GET", "/t", "me.example", None,
                       signing.verify_key_of(key))


def test_missing_destination_is_accepted_for_old_senders(key: signing.SigningKey) -> None:
    """Before v1.3 senders signed with our name but did not put it in the header."""
    header = authorization_header("GET", "/t", "o.example", "d.example", key)
    auth = parse_x_matrix(header)
    old_style = XMatrix(auth.origin, None, auth.key, auth.sig)
    verify_request(old_style, "GET", "/t", "d.example", None, signing.verify_key_of(key))


def test_another_key_does_not_verify(key: signing.SigningKey) -> None:
    header = authorization_header("GET", "/t", "o.example", "d.example", key)
    other = signing.verify_key_of(signing.generate_signing_key("1"))
    with pytest.raises(signing.SignatureError):
        verify_request(parse_x_matrix(header), "GET", "/t", "d.example", None, other)


@pytest.mark.parametrize("header, expected", [
    ('X-Matrix origin=o.example,key="ed25519:1",sig="abc"',
     XMatrix("o.example", None, "ed25519:1", "abc")),
    # Unquoted values with colons (older senders), spaces and tabs around commas, any
    # case of the names and scheme, unknown parameters ignored, escapes in quotes.
    ('x-matrix   ORIGIN=o.example:8448 ,\tKey=ed25519:a_b , sig="a\\"b", extra=1,'
     'destination="d.example"',
     XMatrix("o.example:8448", "d.example", "ed25519:a_b", 'a"b')),
])
def test_header_grammar(header: str, expected: XMatrix) -> None:
    assert parse_x_matrix(header) == expected


@pytest.mark.parametrize("header", [
    "Bearer abc",
    "X-Matrix",
    'X-Matrix origin="o.example",key="ed25519:1"',
    'X-Matrix origin="o.example",key="ed25519:1",sig="unterminated',
    'X-Matrix origin="not a name",key="ed25519:1",sig="s"',
    'X-Matrix origin="o.example",key="rsa:1",sig="s"',
    'X-Matrix origin="o.example" key="ed25519:1",sig="s"',
    'X-Matrix origin=o/example,key="ed25519:1",sig="s"',
    "X-Matrix =x",
    "X-Matrix origin",
])
def test_malformed_headers(header: str) -> None:
    with pytest.raises(AuthHeaderError):
        parse_x_matrix(header)
