"""What the scale scenarios measure besides wall time: a server's CPU time, and how long
other clients wait while one big operation runs (a loopback poller).

CPU is the user + system time of the server's whole process tree, read from
``/proc/PID/stat``, so it counts only the server's own work, not the load generator's
beside it on the same cores (it does count contention's cache misses, so a busy machine
still inflates it a little).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from types import TracebackType

import httpx

from bench.client import percentile
from bench.memory import process_tree

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def have_proc() -> bool:
    return Path("/proc/self/stat").exists()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants so far, in seconds."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state is field 3, utime 14 and stime 15 (1-based).
        total += int(fields[11]) + int(fields[12])
    return total / _TICKS


class CpuWindow:
    """CPU seconds and wall seconds a server spends between ``start()`` and ``stop()``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu = self.wall = 0.0
        self._cpu0 = self._t0 = 0.0

    def start(self) -> CpuWindow:
        self._cpu0, self._t0 = cpu_seconds(self.pid), time.perf_counter()
        return self

    def stop(self) -> CpuWindow:
        self.cpu = cpu_seconds(self.pid) - self._cpu0
        self.wall = time.perf_counter() - self._t0
        return self


class Poller:
    """Another client of the server, on its own connection, asking alternately for
    ``GET /_matrix/client/versions`` (no auth, no database) and ``GET …/account/whoami``
    (an access-token lookup) every ``interval`` seconds while a big operation runs.

    Its latency percentiles are what everyone else on the server feels during that
    operation: a stalled event loop shows up here whatever the operation's own speed.
    """

    def __init__(self, base_url: str, token: str, interval: float = 0.01) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(300.0),
                                      limits=httpx.Limits(max_connections=1),
                                      headers={"Accept-Encoding": "identity"})
        self.token = token
        self.interval = interval
        self.latencies: list[float] = []
        self.errors = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def _run(self) -> None:
        auth = {"Authorization": f"Bearer {self.token}"}
        requests: tuple[tuple[str, dict[str, str]], ...] = (
            ("/_matrix/client/versions", {}),
            ("/_matrix/client/v3/account/whoami", auth))
        n = 0
        while not self._stop.is_set():
            path, headers = requests[n % 2]
            n += 1
            start = time.perf_counter()
            try:
                r = await self.http.get(path, headers=headers)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            self.latencies.append((time.perf_counter() - start) * 1000)
            self.errors += 0 if ok else 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)

    async def __aenter__(self) -> Poller:
        # One answered request first, so connection set-up is not counted as a stall.
        await self.http.get("/_matrix/client/versions")
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        # The request in flight is awaited, not cancelled: a stall at the very end of the
        # operation must still be counted.
        self._stop.set()
        if self._task is not None:
            await self._task
        await self.http.aclose()

    def summary(self) -> dict[str, float]:
        return {"p50_ms": percentile(self.latencies, 50),
                "p99_ms": percentile(self.latencies, 99),
                "max_ms": max(self.latencies, default=float("nan")),
                "requests": len(self.latencies), "errors": self.errors}
