"""Pagination tokens: positions in a room's timeline, opaque to clients.

``t<depth>_<stream>`` is a topological position (``/messages``); ``s<stream>`` a stream
position (``/sync``, which may add ``_``-separated parts of its own). Either parses to a
:class:`Position`; a token that doesn't parse is the client's error
(``400 M_INVALID_PARAM``), never a 500.

A topological token names the gap just *after* the event at that position (storage's
``events.page``): :func:`gap_after` and :func:`gap_before` make the tokens on either side
of an event, so paging on from a token never skips the event next to it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from glia import errors

#: The stream part may be negative: history backfilled from other servers is ordered
#: below every /sync position (``services.federation.backfill``).
_TOPOLOGICAL = re.compile(r"t([0-9]{1,18})_(-?[0-9]{1,18})")
_STREAM = re.compile(r"s([0-9]{1,18})(?:_\S*)?")


@dataclass(frozen=True)
class Position:
    depth: int | None
    stream: int

    def token(self) -> str:
        if self.depth is None:
            return f"s{self.stream}"
        return f"t{self.depth}_{self.stream}"


def gap_after(depth: int, stream: int) -> Position:
    """The token between the event at (depth, stream) and the one after it."""
    return Position(depth, stream)


def gap_before(depth: int, stream: int) -> Position:
    """The token between the event at (depth, stream) and the one before it: stream
    orderings are integers, so nothing lies between (depth, stream - 1) and it."""
    return Position(depth, stream - 1)


def parse_position(token: str) -> Position:
    match = _TOPOLOGICAL.fullmatch(token)
    if match:
        return Position(int(match.group(1)), int(match.group(2)))
    match = _STREAM.fullmatch(token)
    if match:
        return Position(None, int(match.group(1)))
    raise errors.invalid_param(f"Invalid pagination token {token!r}")


def opaque_token(raw: str) -> str:
    """Wrap a token's parts so clients treat it as opaque (URL-safe, no padding)."""
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def open_token(token: str, invalid: errors.MatrixError) -> str:
    """The parts an :func:`opaque_token` wrapped; anything else raises ``invalid``."""
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise invalid from e
