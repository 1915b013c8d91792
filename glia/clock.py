"""Time, behind one seam so tests and services agree on milliseconds.

Services that decide something by time (expiry, presence, rate limits, jobs) take a
:class:`Clock` in their constructor. The server runs on :class:`SystemClock`; with
``testing.clock_control`` on it runs on an :class:`OffsetClock`, which a test moves
forward instead of sleeping. The module functions are the system clock, for code that
only stamps the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


def now_ms() -> int:
    """Milliseconds since the Unix epoch, the unit Matrix uses everywhere."""
    return int(time.time() * 1000)


def monotonic() -> float:
    return time.monotonic()


class Clock(Protocol):
    """Wall time for stored timestamps, monotonic time for intervals, and a sleep that
    ends when this clock (not necessarily the system's) has moved on enough."""

    def now_ms(self) -> int: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock(Clock):
    def now_ms(self) -> int:
        return now_ms()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class OffsetClock(Clock):
    """The system clock plus an offset that only grows: :meth:`advance` moves both wall
    and monotonic time forward and ends the sleeps whose time has come, so a test can
    make an hour pass at once. Time never goes backwards, as code relying on the
    monotonic clock expects."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._moved = asyncio.Event()

    def now_ms(self) -> int:
        return int((time.time() + self._offset) * 1000)

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        self._offset += seconds
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def sleep(self, seconds: float) -> None:
        deadline = self.monotonic() + seconds
        while (left := deadline - self.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), timeout=left)
