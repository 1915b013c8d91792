"""Time, behind one seam so tests and services agree on milliseconds."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Milliseconds since the Unix epoch, the unit Matrix uses everywhere."""
    return int(time.time() * 1000)


def monotonic() -> float:
    return time.monotonic()
