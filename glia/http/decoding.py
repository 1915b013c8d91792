"""The one place a request body becomes a value: bytes → JSON → typed request model.

Every failure is a Matrix error the client can act on, never a 500: a body that is not
UTF-8 or not JSON is ``M_NOT_JSON``; JSON nested deeper than ``max_json_depth`` is
``M_BAD_JSON`` (deep values would otherwise exhaust the recursion of every later
consumer: canonical JSON, redaction, the audit log's secret stripping); a field that is
missing is ``M_MISSING_PARAM``, one of the wrong type ``M_BAD_JSON``, one of the right
type outside its allowed values ``M_INVALID_PARAM`` — each naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec

from glia import errors
from glia.errors import MatrixError

T = TypeVar("T")

_decoder = msgspec.json.Decoder()

#: msgspec's messages for a value of the right type that breaks a constraint
#: (``Meta(ge=…)``, ``max_length``, ``pattern``, a ``Literal``/enum).
_CONSTRAINT_MARKERS = (" >= ", " <= ", " > ", " < ", "length", "matching regex",
                       "Invalid enum value", "Expected `int` <", "Expected `int` >")


def decode_json(body: bytes, max_depth: int) -> Any:
    """Any JSON value, checked for UTF-8, syntax and nesting depth."""
    if not body.strip():
        raise errors.not_json("Content not JSON: the body is empty.")
    try:
        value = _decoder.decode(body)
    except UnicodeDecodeError as e:
        raise errors.not_json("Content not JSON: the body is not valid UTF-8.") from e
    except msgspec.DecodeError as e:
        raise errors.not_json(f"Content not JSON: {e}") from e
    except RecursionError as e:
        raise errors.bad_json(f"JSON is nested deeper than {max_depth} levels") from e
    if json_depth(value, max_depth) > max_depth:
        raise errors.bad_json(f"JSON is nested deeper than {max_depth} levels")
    return value


def decode_object(body: bytes, max_depth: int) -> dict[str, Any]:
    """A JSON object (``M_BAD_JSON`` for any other JSON value)."""
    value = decode_json(body, max_depth)
    if not isinstance(value, dict):
        raise errors.bad_json("Content must be a JSON object.")
    return value


def json_depth(value: Any, stop_after: int) -> int:
    """How deeply ``value`` nests objects and arrays, counting no further than one past
    ``stop_after`` (iterative: the point is to survive values too deep to recurse)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > deepest:
            deepest = depth
            if deepest > stop_after:
                return deepest
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return deepest


def to_model(value: Any, model: type[T]) -> T:
    """Convert a decoded JSON value into the route's request model."""
    try:
        return msgspec.convert(value, model, strict=True)
    except msgspec.ValidationError as e:
        raise validation_error(e) from e


def validation_error(e: msgspec.ValidationError) -> MatrixError:
    """The Matrix error for a msgspec validation failure, naming the field."""
    message = str(e)
    field = _field_of(message)
    if message.startswith("Object missing required field"):
        name = message.split("`")[1] if "`" in message else "?"
        where = f"{field}.{name}" if field else name
        return errors.missing_param(f"Missing parameter: {where}")
    reason = message.split(" - at `")[0]
    where = f" ({field})" if field else ""
    if any(marker in reason for marker in _CONSTRAINT_MARKERS):
        return errors.invalid_param(f"Invalid parameter{where}: {reason}")
    return errors.bad_json(f"Invalid parameter{where}: {reason}")


def _field_of(message: str) -> str:
    """``$.a.b[0]`` from msgspec's ``… - at `$.a.b[0]``` suffix, without the ``$.``."""
    marker = " - at `$"
    if marker not in message:
        return ""
    path = message.split(marker, 1)[1].rstrip("`")
    return path.lstrip(".")
