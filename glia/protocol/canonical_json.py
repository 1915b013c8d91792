"""The spec's Canonical JSON (appendices, "Canonical JSON"): the encoding hashes and
signatures are computed over, and the value rules room versions 6 and later enforce on
events (integers within ±(2**53 − 1), no floats).

Pure functions; the event writer (``services/events``) and the PDU validator
(``protocol/events.validate_pdu``) both ask :func:`event_json_error`, so a local client
and a remote server are held to the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from canonicaljson import encode_canonical_json as _encode_canonical_json

from glia.protocol.room_versions import RoomVersion

__all__ = ["CANONICAL_INT_MAX", "CANONICAL_INT_MIN", "canonical_json_error",
           "encode_canonical_json", "event_json_error"]

CANONICAL_INT_MIN: Final = -(2**53) + 1
CANONICAL_INT_MAX: Final = 2**53 - 1


def _normalise_numbers(value: Any) -> Any:
    """Integral floats (``1e10``, ``-0.0``) become ints, as the spec's examples require.

    Only old room versions can carry floats at all; non-integral ones are left as they
    are (they are not canonical, but v1–v5 events must still be hashable).
    """
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return value
    if isinstance(value, dict):
        return {k: _normalise_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise_numbers(v) for v in value]
    return value


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_float(v) for v in value)
    return False


def encode_canonical_json(value: Any) -> bytes:
    """The spec's Canonical JSON: UTF-8, sorted keys, no whitespace, integers only."""
    if _has_float(value):
        value = _normalise_numbers(value)
    return _encode_canonical_json(value)


def canonical_json_error(value: Any, path: str = "") -> str | None:
    """Why ``value`` is not strict canonical JSON (v6+), or None if it is.

    Integers must lie in ``[-(2**53)+1, 2**53-1]`` and floats are not allowed (not even
    integral ones such as ``1e10``: the value was sent as a float).
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int):
        if not CANONICAL_INT_MIN <= value <= CANONICAL_INT_MAX:
            return f"integer out of range at {path or '<root>'}"
        return None
    if isinstance(value, float):
        return f"float value at {path or '<root>'}"
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"non-string key at {path or '<root>'}"
            err = canonical_json_error(v, f"{path}.{k}" if path else k)
            if err:
                return err
        return None
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            err = canonical_json_error(v, f"{path}[{i}]")
            if err:
                return err
        return None
    return f"value of type {type(value).__name__} at {path or '<root>'}"


def event_json_error(event: Mapping[str, Any], room_version: RoomVersion) -> str | None:
    """Why ``event`` breaks its room version's JSON value rules, or None if it keeps
    them. Room versions 1–5 accept any JSON number (their events are hashed after
    :func:`encode_canonical_json` turns integral floats into integers); from version 6
    an event must be strict canonical JSON."""
    if not room_version.strict_canonicaljson:
        return None
    return canonical_json_error(event)
