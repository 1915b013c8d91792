"""Resident set size of a server and its child processes, sampled in the background.

RSS comes from ``/proc/PID/status`` (``VmRSS``), summed over the process tree, so a
server that forks workers is measured whole. A PostgreSQL cluster both servers share is
not part of either tree and is not counted.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; fields follow the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _vmrss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (what a server that forks workers is made of)."""
    tree = _children()
    found, stack, seen = [], [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        found.append(p)
        stack.extend(tree.get(p, []))
    return found


def rss_mb(pid: int) -> float:
    """RSS of ``pid`` and all its descendants, in MiB (0 if it is gone)."""
    return sum(_vmrss_kb(p) for p in process_tree(pid)) / 1024


class Sampler:
    """Samples the RSS of named PIDs every ``interval`` seconds and keeps the peaks."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.pids: dict[str, int] = {}
        self.peak: dict[str, float] = {}
        self.idle: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def watch(self, name: str, pid: int) -> None:
        self.pids[name] = pid
        self.peak.setdefault(name, 0.0)

    def sample(self) -> dict[str, float]:
        now = {name: rss_mb(pid) for name, pid in list(self.pids.items())}
        for name, mb in now.items():
            self.peak[name] = max(self.peak.get(name, 0.0), mb)
        return now

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> None:
        if os.path.isdir("/proc"):
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
