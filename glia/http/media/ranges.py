"""HTTP byte ranges for media downloads (RFC 9110 §14): video and audio players seek by
asking for ``Range: bytes=start-end``.

One range is served as ``206 Partial Content`` with ``Content-Range``; a range that
starts past the end is ``416`` with ``Content-Range: bytes */size``. What RFC 9110 lets a
server ignore is ignored, and the whole file served with ``200``: a header that is not a
byte range, several ranges (no multipart answers), and any ``If-Range`` (files carry no
validator to compare it with).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from glia.errors import MatrixError

__all__ = ["ByteRange", "requested_range"]

_SPEC = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive of a file of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def requested_range(header: str | None, if_range: str | None, size: int
                    ) -> ByteRange | None:
    """The one range to serve of a ``size``-byte file, or None for the whole file.
    Raises a 416 :class:`MatrixError` when the range cannot be satisfied."""
    if header is None or if_range is not None:
        return None
    match = _SPEC.match(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:
        # A suffix: the last N bytes (all of a shorter file).
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = int(first)
    if last and int(last) < start:
        return None  # not a valid range: ignored
    if start >= size:
        raise _unsatisfiable(size)
    return ByteRange(start, min(int(last), size - 1) if last else size - 1, size)


def _unsatisfiable(size: int) -> MatrixError:
    return MatrixError(416, "M_UNKNOWN", "Requested range not satisfiable",
                       headers={"Content-Range": f"bytes */{size}"})
