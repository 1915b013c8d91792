"""The spec's Canonical JSON (appendices, "Canonical JSON"): the encoding hashes and
signatures are computed over, and the value rules room versions 6 and later enforce on
events (integers within ±(2**53 − 1), no floats) — and, defined here once for every layer,
that integer bound and the integer types request models use.

Pure functions; the event writer (``services/events``) and the PDU validator
(``protocol/events.validate_pdu``) both ask :func:`event_json_error`, so a local client
and a remote server are held to the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Final

import msgspec
from canonicaljson import encode_canonical_json as _encode_canonical_json

if TYPE_CHECKING:
    from glia.protocol.room_versions import RoomVersion

__all__ = ["INT64_MAX", "SAFE_INT_MAX", "SAFE_INT_MIN", "NonNegativeInt", "PositiveInt",
           "SafeInt", "canonical_json_error", "encode_canonical_json", "event_json_error"]

#: The largest integer every JSON parser represents exactly (2**53 − 1): canonical
#: JSON's bound, and the bound of every integer a request may carry.
SAFE_INT_MAX: Final = 2**53 - 1
SAFE_INT_MIN: Final = -SAFE_INT_MAX
#: The largest signed 64-bit integer (a BIGINT column; event depth in room versions 1–5).
INT64_MAX: Final = 2**63 - 1

#: A request model's integer: past ±(2**53 − 1) it is ``M_INVALID_PARAM``.
SafeInt = Annotated[int, msgspec.Meta(ge=SAFE_INT_MIN, le=SAFE_INT_MAX)]
#: A count, limit, timeout or timestamp: 0 to 2**53 − 1.
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0, le=SAFE_INT_MAX)]
#: A count that must be at least 1.
PositiveInt = Annotated[int, msgspec.Meta(ge=1, le=SAFE_INT_MAX)]


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
        if not SAFE_INT_MIN <= value <= SAFE_INT_MAX:
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
