"""Run the benchmark: ``python -m bench`` or ``python bench/run.py`` (same arguments).

Starts Synapse and Glia side by side on loopback (and a throwaway PostgreSQL cluster with
``--postgres``), runs every scenario against one then the other, prints a table, writes
JSON and a ratio chart under ``bench/results/``, and stops every process it started — on
success, failure or Ctrl-C.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import contextlib
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from bench import report
from bench.client import Unsupported
from bench.memory import Sampler
from bench.scale import SCALES, Scale
from bench.scenarios import ALL, NotAvailable, Scenario
from bench.servers import (
    Postgres,
    Server,
    ensure_synapse,
    start_glia,
    start_synapse,
)
from bench.target import Target

HERE = Path(__file__).resolve().parent
SERVERS = ("synapse", "glia")


def _counts(value: str) -> tuple[int, ...]:
    """``"1000,5000"`` → ``(1000, 5000)``: positive, ascending."""
    try:
        counts = tuple(sorted(int(v) for v in value.split(",") if v.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of counts: {value!r}") from None
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError(f"counts must be positive: {value!r}")
    return counts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--scale", choices=sorted(SCALES), default="small",
                   help="small: a few minutes, CI-sized; full: the numbers of issue 7")
    p.add_argument("--postgres", action="store_true",
                   help="both servers on PostgreSQL (one throwaway cluster) instead of SQLite")
    p.add_argument("--bcrypt-rounds", type=int, default=12,
                   help="bcrypt cost for both servers (default 12, Synapse's default)")
    p.add_argument("--only", default="",
                   help="comma-separated scenarios to run: " + ",".join(s.name for s in ALL))
    p.add_argument("--servers", default=",".join(SERVERS),
                   help="which servers to start (default: synapse,glia)")
    p.add_argument("--glia-cmd", default=f"{shlex.quote(sys.executable)} -m glia",
                   help="command that runs Glia's CLI (default: this Python's -m glia)")
    p.add_argument("--big-room-members", type=_counts, default=None,
                   help="member counts the big room is grown through, e.g. 1000,5000,20000"
                        " (default: the scale's)")
    p.add_argument("--many-clients", type=_counts, default=None,
                   help="long-polling client counts of many_clients, e.g. 100,500,1000"
                        " (default: the scale's)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds one scenario may take on one server (default: the scale's)")
    p.add_argument("--work-dir", type=Path, default=HERE / ".work",
                   help="Synapse's virtualenv and the run's data (git-ignored)")
    p.add_argument("--results-dir", type=Path, default=HERE / "results")
    args = p.parse_args(argv)
    names = {s.name for s in ALL}
    args.scenarios = [s for s in ALL if not args.only or s.name in args.only.split(",")]
    unknown = set(filter(None, args.only.split(","))) - names
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    args.server_names = [s for s in SERVERS if s in args.servers.split(",")]
    return args


def machine() -> dict[str, Any]:
    """What the numbers were measured on (shared machines drift: compare ratios)."""
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)), "platform": platform.platform(),
        "python": platform.python_version(), "loadavg_at_start": os.getloadavg(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["mem_total_mb"] = int(line.split()[1]) // 1024
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    return info


def glia_commit() -> str:
    """The checkout's commit (with ``+dirty`` for local changes), to say what was measured."""
    def git(*a: str) -> str:
        out = subprocess.run(["git", "-C", str(HERE.parent), *a], capture_output=True,
                             text=True)
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    return commit + ("+dirty" if commit and git("status", "--porcelain", "--", "glia") else "")


def _entry(status: str, reason: str = "", outcome: Any = None, seconds: float = 0.0
           ) -> dict[str, Any]:
    return {"status": status, "reason": reason, "seconds": round(seconds, 2),
            "metrics": outcome.metrics if outcome else {},
            "info": outcome.info if outcome else {}}


async def run_one(t: Target, sc: Scenario, scale: Scale) -> dict[str, Any]:
    """Probe, then run one scenario on one server; never raises (except Ctrl-C)."""
    if not t.server.proc.alive():
        return _entry("failed", f"{t.name} is no longer running:\n{t.server.proc.tail(5)}")
    missing = [r for m, path in sc.requires if (r := await t.client.probe(m, path))]
    if missing:
        why = sc.note.get(t.name)
        return _entry("n/a", "; ".join(([why] if why else []) + missing))
    start = time.perf_counter()
    limit = asyncio.timeout(scale.time_limit_s)
    try:
        async with limit:
            outcome = await sc.run(t, scale)
    except (NotAvailable, Unsupported) as e:
        return _entry("n/a", str(e), seconds=time.perf_counter() - start)
    except TimeoutError as e:
        # The scenario's time limit, or a wait of its own that gave up (say so).
        reason = f"timed out after {scale.time_limit_s:.0f} s" if limit.expired() \
            else f"TimeoutError: {e}"
        return _entry("failed", reason, seconds=time.perf_counter() - start)
    except Exception as e:  # a bug or a server error: report it, keep going
        reason = f"{type(e).__name__}: {e}"
        if not t.server.proc.alive():
            reason += f" (server exited:\n{t.server.proc.tail(5)})"
        return _entry("failed", reason, seconds=time.perf_counter() - start)
    return _entry("ok", outcome=outcome, seconds=time.perf_counter() - start)


def _summary(sc: Scenario, entry: dict[str, Any]) -> str:
    if entry["status"] != "ok":
        return f"{entry['status']}: {entry['reason']}"
    units = {m.key: m for m in sc.metrics}
    shown = []
    for k, v in entry["metrics"].items():
        base, at, variant = k.partition("@")
        if base in units:
            label = units[base].label + (f" @ {variant}" if at else "")
            shown.append(f"{label} {report._fmt(v, units[base].unit)}")
    return ", ".join(shown) + f"  ({entry['seconds']:.0f} s)"


async def run_all(servers: dict[str, Server | str], args: argparse.Namespace, scale: Scale,
                  sampler: Sampler, results: dict[str, Any]) -> None:
    targets = {n: Target(s, scale, sampler) for n, s in servers.items()
               if isinstance(s, Server)}
    try:
        for i, sc in enumerate(args.scenarios, 1):
            print(f"\n[{i}/{len(args.scenarios)}] {sc.title}", flush=True)
            per_server: dict[str, Any] = {}
            results["scenarios"][sc.name] = per_server
            for name, server in servers.items():
                if isinstance(server, Server):
                    entry = await run_one(targets[name], sc, scale)
                else:
                    entry = _entry("n/a", f"{name} did not start: {server}")
                per_server[name] = entry
                print(f"  {name:8} {_summary(sc, entry)}", flush=True)
    finally:
        for t in targets.values():
            await t.close()


def _start(name: str, args: argparse.Namespace, run_dir: Path, pg: Postgres | None,
           stack: contextlib.ExitStack) -> Server | str:
    """Start one server; on failure return the reason instead (its scenarios become n/a)."""
    print(f"Starting {name} ({'PostgreSQL' if pg else 'SQLite'}) …", flush=True)
    try:
        if name == "synapse":
            python = ensure_synapse(args.work_dir / "synapse-venv",
                                    args.work_dir / "synapse-install.log", pg is not None)
            server = start_synapse(python, run_dir / "synapse",
                                   bcrypt_rounds=args.bcrypt_rounds, pg=pg)
        else:
            server = start_glia(shlex.split(args.glia_cmd), run_dir / "glia",
                                bcrypt_rounds=args.bcrypt_rounds, pg=pg)
    except Exception as e:
        reason = f"{type(e).__name__}: {e}".strip()
        print(f"  {name} did not start: {reason}", flush=True)
        return reason.splitlines()[0] if reason else name
    stack.callback(server.proc.stop)
    print(f"  {name} {server.version} on {server.url} (pid {server.proc.pid})", flush=True)
    return server


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # unwind through the finally blocks that stop the servers


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scale = SCALES[args.scale]
    if args.big_room_members is not None:
        scale = replace(scale, big_room_members=args.big_room_members)
    if args.many_clients is not None:
        scale = replace(scale, many_clients=args.many_clients)
    if args.time_limit is not None:
        scale = replace(scale, time_limit_s=args.time_limit)
    signal.signal(signal.SIGTERM, _on_sigterm)
    # Ctrl-C must stop the servers even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = datetime.now(UTC)
    stem = f"{started:%Y%m%dT%H%M%SZ}-{scale.name}-{'postgres' if args.postgres else 'sqlite'}"
    results: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"), "scale": scale.name,
        "scale_params": asdict(scale), "database": "PostgreSQL" if args.postgres else "SQLite",
        "bcrypt_rounds": args.bcrypt_rounds, "glia_commit": glia_commit(),
        "machine": machine(), "servers": {},
        "scenarios": {}, "interrupted": False,
    }
    run_dir = args.work_dir / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    sampler = Sampler()
    with contextlib.ExitStack() as stack:
        try:
            pg = None
            if args.postgres:
                print("Starting a throwaway PostgreSQL cluster …", flush=True)
                pg = Postgres(run_dir / "postgres")
                stack.callback(pg.stop)
                pg.start()
            servers: dict[str, Server | str] = {
                name: _start(name, args, run_dir, pg, stack) for name in args.server_names}
            for name, s in servers.items():
                results["servers"][name] = (
                    {"version": s.version, "url": s.url, "pid": s.proc.pid,
                     "database": s.database} if isinstance(s, Server) else {"error": s})
                if isinstance(s, Server):
                    sampler.watch(name, s.proc.pid)
            sampler.start()
            stack.callback(sampler.stop)
            print("Measuring idle memory …", flush=True)
            time.sleep(3)
            idle = []
            for _ in range(3):
                time.sleep(1)
                idle.append(sampler.sample())
            sampler.idle = {n: statistics.median(s[n] for s in idle) for n in sampler.pids}
            asyncio.run(run_all(servers, args, scale, sampler, results))
        except KeyboardInterrupt:
            results["interrupted"] = True
            for per_server in results["scenarios"].values():
                for name in args.server_names:
                    per_server.setdefault(name, _entry("interrupted", "the run was interrupted"))
            print("\nInterrupted: stopping everything this run started …", flush=True)
        finally:
            results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            results["machine"]["loadavg_at_end"] = os.getloadavg()
    # Every process is stopped here (the ExitStack closed, in reverse start order).
    json_path = args.results_dir / f"{stem}.json"
    report.write_json(results, json_path)
    print("\n" + report.text_table(results))
    print(f"\nRaw results: {json_path}")
    db = "postgres" if args.postgres else "sqlite"
    chart = args.results_dir / f"ratios-{scale.name}-{db}.png"
    if results["scenarios"] and report.write_chart(results, chart):
        print(f"Chart: {chart}")
    elif results["scenarios"]:
        print("No chart: matplotlib is missing (pip install -e '.[bench]').")
    for path in report.write_curves(results, args.results_dir, f"{scale.name}-{db}"):
        print(f"Cost curve: {path}")
    return 130 if results["interrupted"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
