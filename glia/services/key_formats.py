"""Formats of end-to-end encryption keys and their signatures: parsing what clients
upload, canonical JSON and signature checks, shared by the key and cross-signing
services."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from glia import errors
from glia.errors import MatrixError
from glia.protocol.canonical_json import encode_canonical_json
from glia.protocol.signing import SignatureError, VerifyKey, decode_verify_key, verify_json
from glia.storage.keys import Signature

JsonDict = dict[str, Any]
CROSS_SIGNING_FIELDS = (("master_key", "master"), ("self_signing_key", "self_signing"),
                        ("user_signing_key", "user_signing"))


def json_object(value: Any, what: str) -> JsonDict:
    if not isinstance(value, dict):
        raise errors.bad_json(f"{what} must be a JSON object")
    return value


def json_string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise errors.bad_json(f"{what} must be a string")
    return value


def parse_signatures(value: Any, what: str) -> dict[str, dict[str, str]]:
    """``{user_id: {key_id: signature}}`` with strings all the way down."""
    sigs = json_object(value, f"{what}.signatures")
    for signer, by_key in sigs.items():
        for key_id, sig in json_object(by_key, f"{what}.signatures.{signer}").items():
            json_string(sig, f"{what}.signatures.{signer}.{key_id}")
    return sigs


def parse_key_id(value: str, what: str) -> tuple[str, str]:
    """``<algorithm>:<id>`` with exactly one colon (Synapse's rule)."""
    parts = value.split(":")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise errors.bad_json(f"Invalid {what} key {value!r}. Expected \"<algorithm>:<key_id>\".")
    return parts[0], parts[1]


def verify_key_of(key_id: str, public: Any) -> VerifyKey:
    """An ed25519 public key from its ID and unpadded base64 value."""
    if not isinstance(public, str):
        raise errors.bad_json(f"Key {key_id} must be a string")
    try:
        return decode_verify_key(key_id, public)
    except Exception as e:  # bad base64, wrong length: the nacl and base64 errors vary
        raise errors.invalid_param(f"Key {key_id} is not a valid ed25519 public key") from e


def canonical(value: Any) -> str:
    """Canonical JSON text of any JSON value (what is stored and compared)."""
    try:
        return encode_canonical_json(value).decode()
    except (ValueError, TypeError) as e:
        raise errors.bad_json(f"Not canonical JSON: {e}") from e


def check_signed(obj: Mapping[str, Any], user_id: str, key: VerifyKey, what: str) -> None:
    try:
        verify_json(obj, user_id, key)
    except SignatureError as e:
        raise MatrixError(400, "M_INVALID_SIGNATURE", f"Invalid signature on {what}") from e
    except (ValueError, TypeError) as e:  # not encodable as canonical JSON
        raise errors.bad_json(f"{what} is not valid canonical JSON") from e


def without_keys(obj: Mapping[str, Any], *keys: str) -> JsonDict:
    return {k: v for k, v in obj.items() if k not in keys}


def parse_cross_signing_key(value: Any, user_id: str, key_type: str
                             ) -> tuple[JsonDict, str, VerifyKey]:
    """A cross-signing key object: the user's own, for this usage, with exactly one
    ed25519 key whose ID names its public key. Returns it, the public key and the key."""
    key = json_object(value, f"{key_type} key")
    usage = key.get("usage")
    keys = key.get("keys")
    if (key.get("user_id") != user_id or not isinstance(usage, list)
            or key_type not in usage or not isinstance(keys, dict) or len(keys) != 1):
        raise errors.invalid_param(f"Invalid {key_type} key")
    if not all(isinstance(u, str) for u in usage):
        raise errors.invalid_param(f"Invalid {key_type} key")
    ((key_id, public),) = keys.items()
    algorithm, _, name = key_id.partition(":")
    if algorithm != "ed25519" or not name or public != name:
        raise errors.invalid_param(f"Invalid {key_type} key")
    if "signatures" in key:
        parse_signatures(key["signatures"], f"{key_type} key")
    canonical(key)
    return key, name, verify_key_of(key_id, public)


def check_same(signed: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
    """A signature upload must carry exactly the stored key object, signatures aside."""
    if without_keys(signed, "signatures", "unsigned") != without_keys(stored, "signatures",
                                                              "unsigned"):
        raise errors.unknown("Key does not match")


def parse_one_time_keys(value: Any, what: str, user_id: str, device_id: str,
                         device_key: VerifyKey | None) -> list[tuple[str, str, Any]]:
    """Validate ``one_time_keys`` / ``fallback_keys``: (algorithm, key ID, key) triples.

    A key is a string or a ``KeyObject``; a signed object must carry a valid signature by
    the device's ed25519 key whenever that key is known.
    """
    keys = json_object(value, what)
    parsed = []
    for full_id, key in keys.items():
        algorithm, key_id = parse_key_id(full_id, what)
        if isinstance(key, dict):
            json_string(key.get("key"), f"{what}.{full_id}.key")
            if "signatures" not in key:
                raise errors.bad_json(f"{what}.{full_id} must have signatures")
            parse_signatures(key["signatures"], f"{what}.{full_id}")
            if key.get("fallback") is not None and not isinstance(key["fallback"], bool):
                # null is accepted as absent, as Synapse's model does.
                raise errors.bad_json(f"{what}.{full_id}.fallback must be a boolean")
            if device_key is not None and user_id in key["signatures"]:
                check_signed(key, user_id, device_key, f"{what} {full_id}")
            elif device_key is not None:
                raise MatrixError(400, "M_INVALID_SIGNATURE",
                                  f"{what} {full_id} is not signed by device {device_id}")
            canonical(key)
        elif not isinstance(key, str):
            raise errors.bad_json(f"{what}.{full_id} must be a string or a key object")
        parsed.append((algorithm, key_id, key))
    return parsed


def parse_signed_objects(signed_objects: Mapping[str, Any]
                         ) -> dict[str, dict[str, JsonDict]]:
    """``/keys/signatures/upload``'s decoded object: ``{user_id: {key_id: signed
    object}}``. Any other shape is ``M_INVALID_PARAM``, as Synapse answers."""
    for target, objects in signed_objects.items():
        if not isinstance(objects, dict) or not all(
                isinstance(o, dict) for o in objects.values()):
            raise errors.invalid_param(f"Invalid parameter: signatures of {target}")
    return {target: dict(objects) for target, objects in signed_objects.items()}


def same_one_time_key(stored_json: str, key: Any) -> bool:
    """Whether an uploaded one-time key is the stored one, signatures aside."""
    stored = json.loads(stored_json)
    if not isinstance(stored, dict) or not isinstance(key, dict):
        return bool(stored == key)
    return without_keys(stored, "signatures") == without_keys(key, "signatures")


def with_signatures(obj: Mapping[str, Any], extra: Sequence[Signature]) -> JsonDict:
    """A copy of a key object with uploaded signatures merged into ``signatures``."""
    merged = dict(obj)
    signatures = {signer: dict(by_key)
                  for signer, by_key in (obj.get("signatures") or {}).items()}
    for sig in extra:
        signatures.setdefault(sig.signer_user_id, {})[sig.signing_key_id] = sig.signature
    if signatures:
        merged["signatures"] = signatures
    return merged
