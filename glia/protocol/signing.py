"""Ed25519 signing keys, signed JSON and event signatures.

Events are signed over their *redacted* form (so a redacted copy still verifies) and
carry a content hash over the full form (so a receiver can tell the two apart). Key
handling works on strings in Synapse's key-file format; reading and writing the file
is the caller's job, this layer does no I/O.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any

import nacl.exceptions
import nacl.signing
from signedjson.key import (
    NACL_ED25519,
    decode_signing_key_base64,
    decode_verify_key_bytes,
    encode_signing_key_base64,
    encode_verify_key_base64,
    get_verify_key,
)
from signedjson.key import generate_signing_key as _generate_signing_key
from signedjson.types import SigningKey, VerifyKey
from unpaddedbase64 import decode_base64, encode_base64

from glia.ids import random_string
from glia.protocol.canonical_json import encode_canonical_json
from glia.protocol.events import JsonDict, compute_content_hash, decode_hash, server_of
from glia.protocol.redaction import redact
from glia.protocol.room_versions import RoomVersion

__all__ = [
    "SignatureError",
    "SigningKey",
    "VerifyKey",
    "check_content_hash",
    "decode_verify_key",
    "generate_signing_key",
    "key_id",
    "parse_signing_keys",
    "required_signing_servers",
    "serialize_signing_keys",
    "sign_event",
    "sign_json",
    "signing_key_from_seed",
    "third_party_signed_is_valid",
    "verify_event_signatures",
    "verify_json",
    "verify_key_base64",
    "verify_key_of",
]


class SignatureError(Exception):
    """A required signature is missing, malformed or does not verify."""


# --- keys -----------------------------------------------------------------------------


def generate_signing_key(version: str | None = None) -> SigningKey:
    """A new ed25519 signing key; ``version`` defaults to Synapse's style, ``a_``
    and four random characters."""
    return _generate_signing_key(version or f"a_{random_string(4)}")


def signing_key_from_seed(seed_base64: str, version: str) -> SigningKey:
    """The key whose 32-byte seed is ``seed_base64`` (unpadded base64)."""
    return decode_signing_key_base64(NACL_ED25519, version, seed_base64)


def key_id(key: SigningKey | VerifyKey) -> str:
    """``<algorithm>:<version>``, e.g. ``ed25519:a_AbCd``."""
    return f"{key.alg}:{key.version}"


def verify_key_of(key: SigningKey) -> VerifyKey:
    return get_verify_key(key)


def verify_key_base64(key: VerifyKey) -> str:
    """The public key, unpadded base64, as published in ``/_matrix/key/v2/server``."""
    return encode_verify_key_base64(key)


def decode_verify_key(key_id_: str, key_base64: str) -> VerifyKey:
    """A verify key from its key ID (``ed25519:ver``) and unpadded base64 bytes."""
    return decode_verify_key_bytes(key_id_, decode_base64(key_base64))


def serialize_signing_keys(keys: Iterable[SigningKey]) -> str:
    """Synapse's key-file text: one ``ed25519 <version> <base64 seed>`` line per key."""
    return "".join(
        f"{key.alg} {key.version} {encode_signing_key_base64(key)}\n" for key in keys
    )


def parse_signing_keys(text: str) -> list[SigningKey]:
    """Parse Synapse's key-file text (blank lines ignored); raises ValueError if malformed."""
    keys = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3:
            raise ValueError("expected '<algorithm> <version> <base64 seed>'")
        algorithm, version, seed = parts
        keys.append(decode_signing_key_base64(algorithm, version, seed))
    return keys


# --- signed JSON ----------------------------------------------------------------------


def sign_json(obj: Mapping[str, Any], signer: str, key: SigningKey) -> JsonDict:
    """A copy of ``obj`` with a signature by ``signer`` added under ``signatures``.

    Existing signatures are kept; ``signatures`` and ``unsigned`` are not covered.
    """
    to_sign = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    signature = key.sign(encode_canonical_json(to_sign)).signature
    signatures: dict[str, dict[str, str]] = {
        name: dict(sigs) for name, sigs in (obj.get("signatures") or {}).items()
    }
    signatures.setdefault(signer, {})[key_id(key)] = encode_base64(signature)
    signed = dict(obj)
    signed["signatures"] = signatures
    return signed


def verify_json(obj: Mapping[str, Any], signer: str, key: VerifyKey) -> None:
    """Raise :class:`SignatureError` unless ``obj`` carries a valid signature by ``signer``
    made with ``key``."""
    try:
        signature_b64 = obj["signatures"][signer][key_id(key)]
    except (KeyError, TypeError):
        raise SignatureError(f"missing signature for {signer}, {key_id(key)}") from None
    signature = decode_hash(signature_b64) if isinstance(signature_b64, str) else None
    if signature is None:
        raise SignatureError(f"invalid signature base64 for {signer}, {key_id(key)}")
    message = encode_canonical_json(
        {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    )
    try:
        key.verify(message, signature)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError) as e:
        raise SignatureError(f"bad signature for {signer}, {key_id(key)}") from e


# --- events ---------------------------------------------------------------------------


def sign_event(
    event: Mapping[str, Any], room_version: RoomVersion, server_name: str, key: SigningKey
) -> JsonDict:
    """A copy of ``event`` signed by ``server_name`` over its redacted form.

    The event must already carry its content hash (``events.add_hashes`` /
    ``events.build_event``), which the signature then covers.
    """
    signed_redacted = sign_json(redact(event, room_version), server_name, key)
    signed = dict(event)
    signed["signatures"] = signed_redacted["signatures"]
    return signed


def required_signing_servers(event: Mapping[str, Any], room_version: RoomVersion) -> set[str]:
    """The servers whose signatures an event must carry.

    Always the sender's server; in v1/v2 also the server of the ``event_id``; for a
    member event with ``join_authorised_via_users_server`` (v8+) also that user's server.
    """
    servers = {server_of(str(event.get("sender", "")))}
    event_id = event.get("event_id")
    if room_version.event_id_in_pdu and isinstance(event_id, str) and ":" in event_id:
        servers.add(server_of(event_id))
    content = event.get("content")
    if (
        room_version.restricted_join_rule
        and event.get("type") == "m.room.member"
        and isinstance(content, Mapping)
    ):
        via = content.get("join_authorised_via_users_server")
        if isinstance(via, str) and ":" in via:
            servers.add(server_of(via))
    return servers


def verify_event_signatures(
    event: Mapping[str, Any],
    room_version: RoomVersion,
    verify_keys: Mapping[str, Mapping[str, VerifyKey]],
) -> None:
    """Check every required server signed the redacted event with a key we know.

    ``verify_keys`` maps server name → key ID → key, already filtered by the caller to
    keys valid at the event's ``origin_server_ts`` (v5+ enforces key validity). Per the
    spec, signatures by unknown keys are skipped; a required server with no signature
    verifiable by a known key fails. Raises :class:`SignatureError`.
    """
    redacted = redact(event, room_version)
    signatures = event.get("signatures")
    if not isinstance(signatures, Mapping):
        raise SignatureError("event has no signatures")
    for server in required_signing_servers(event, room_version):
        server_sigs = signatures.get(server)
        if not isinstance(server_sigs, Mapping) or not server_sigs:
            raise SignatureError(f"event is not signed by {server}")
        known = verify_keys.get(server, {})
        candidates = [
            known[kid] for kid in server_sigs if kid.startswith("ed25519:") and kid in known
        ]
        if not candidates:
            raise SignatureError(f"no known key for the signature of {server}")
        for vk in candidates:
            verify_json(redacted, server, vk)


def check_content_hash(event: Mapping[str, Any]) -> bool:
    """Whether ``hashes.sha256`` matches the event; False means treat it as redacted."""
    hashes = event.get("hashes")
    claimed = hashes.get("sha256") if isinstance(hashes, Mapping) else None
    if not isinstance(claimed, str):
        return False
    claimed_bytes = decode_hash(claimed)
    expected = decode_hash(compute_content_hash(event))
    return claimed_bytes is not None and expected is not None and hmac.compare_digest(
        claimed_bytes, expected
    )


def third_party_signed_is_valid(
    signed: Mapping[str, Any], invite_content: Mapping[str, Any]
) -> bool:
    """Whether any ed25519 signature in ``signed`` verifies with any public key of the
    ``m.room.third_party_invite`` content (``public_key`` and ``public_keys``)."""
    public_keys: list[str] = []
    if isinstance(invite_content.get("public_key"), str):
        public_keys.append(invite_content["public_key"])
    listed = invite_content.get("public_keys")
    if isinstance(listed, list):
        public_keys.extend(
            k["public_key"]
            for k in listed
            if isinstance(k, Mapping) and isinstance(k.get("public_key"), str)
        )
    signatures = signed.get("signatures")
    if not isinstance(signatures, Mapping):
        return False
    message = encode_canonical_json(
        {k: v for k, v in signed.items() if k not in ("signatures", "unsigned")}
    )
    for by_server in signatures.values():
        if not isinstance(by_server, Mapping):
            continue
        for key_id, signature in by_server.items():
            if not str(key_id).startswith("ed25519:") or not isinstance(signature, str):
                continue
            for public_key in public_keys:
                try:
                    nacl.signing.VerifyKey(decode_base64(public_key)).verify(
                        message, decode_base64(signature)
                    )
                except (nacl.exceptions.CryptoError, ValueError, TypeError):
                    continue
                return True
    return False
