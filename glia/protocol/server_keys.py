"""Server signing keys as published at ``/_matrix/key/v2/server``: building our own
response and checking a remote one (pure; fetching and caching are the services').

A key response is a signed JSON object: ``server_name``, ``valid_until_ts``,
``verify_keys`` (usable for requests and events) and ``old_verify_keys`` (only for events
signed before their ``expired_ts``). It must be signed by every key in ``verify_keys``,
which proves the publisher holds them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from glia.ids import is_valid_server_name
from glia.protocol.events import JsonDict
from glia.protocol.signing import (
    SignatureError,
    SigningKey,
    decode_verify_key,
    key_id,
    sign_json,
    verify_json,
    verify_key_base64,
    verify_key_of,
)

#: How long our own key response says it is valid (Synapse publishes one day; receivers
#: re-fetch after it).
OWN_KEY_LIFETIME_MS = 24 * 3600 * 1000
#: Room versions 5+ treat a key as valid for at most seven days after it was fetched.
MAX_KEY_LIFETIME_MS = 7 * 24 * 3600 * 1000


class KeyResponseError(ValueError):
    """A key response that is malformed, for another server, or not self-signed."""


@dataclass(frozen=True)
class OldKey:
    """One of our retired keys: its ID, public key (unpadded base64) and when it expired."""

    key_id: str
    verify_key: str
    expired_ts: int


@dataclass(frozen=True)
class ServerKey:
    """One key taken from a verified response.

    ``valid_until_ts`` is the response's for a current key and ``expired_ts`` for an old
    one: until then it verifies signatures (an old key only those of events)."""

    server_name: str
    key_id: str
    verify_key: str
    valid_until_ts: int
    expired: bool


def own_key_response(server_name: str, key: SigningKey, old_keys: Sequence[OldKey],
                     now_ms: int) -> JsonDict:
    """Our ``/_matrix/key/v2/server`` answer, signed with the current key."""
    body: JsonDict = {
        "server_name": server_name,
        "valid_until_ts": now_ms + OWN_KEY_LIFETIME_MS,
        "verify_keys": {key_id(key): {"key": verify_key_base64(verify_key_of(key))}},
        "old_verify_keys": {
            old.key_id: {"key": old.verify_key, "expired_ts": old.expired_ts}
            for old in old_keys if old.key_id != key_id(key)
        },
    }
    return sign_json(body, server_name, key)


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise KeyResponseError(f"{what} must be an object")
    return value


def _timestamp(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise KeyResponseError(f"{what} must be a non-negative integer")
    return value


def check_key_response(response: Any, server_name: str) -> list[ServerKey]:
    """The keys of ``server_name``'s key response, after checking it is for that server,
    well formed and signed by each of its current keys. Raises :class:`KeyResponseError`.

    Keys of an algorithm other than ed25519 are skipped (we cannot use them)."""
    body = _object(response, "the key response")
    if body.get("server_name") != server_name:
        raise KeyResponseError(f"the key response is not for {server_name}")
    if not is_valid_server_name(server_name):
        raise KeyResponseError("invalid server name")
    valid_until = _timestamp(body.get("valid_until_ts"), "valid_until_ts")
    current = _object(body.get("verify_keys"), "verify_keys")
    old = _object(body.get("old_verify_keys", {}), "old_verify_keys")
    keys: list[ServerKey] = []
    for kid, entry in current.items():
        public = _object(entry, f"verify_keys.{kid}").get("key")
        if not isinstance(public, str):
            raise KeyResponseError(f"verify_keys.{kid}.key must be a string")
        if not kid.startswith("ed25519:"):
            continue
        try:
            verify_json(body, server_name, decode_verify_key(kid, public))
        except (SignatureError, ValueError) as e:
            raise KeyResponseError(f"the key response is not signed by {kid}: {e}") from e
        keys.append(ServerKey(server_name, kid, public, valid_until, expired=False))
    if not keys:
        raise KeyResponseError("the key response has no ed25519 verify key")
    for kid, entry in old.items():
        fields = _object(entry, f"old_verify_keys.{kid}")
        public = fields.get("key")
        if not isinstance(public, str):
            raise KeyResponseError(f"old_verify_keys.{kid}.key must be a string")
        expired_ts = _timestamp(fields.get("expired_ts"), f"old_verify_keys.{kid}.expired_ts")
        if kid.startswith("ed25519:") and kid not in current:
            keys.append(ServerKey(server_name, kid, public, expired_ts, expired=True))
    return keys


def notarise(response: Mapping[str, Any], notary: str, key: SigningKey) -> JsonDict:
    """A key response with the notary's signature added to the origin's."""
    return sign_json(response, notary, key)
