"""The results: a table on the terminal (and in Markdown for the docs), JSON, a ratio chart.

Every ratio is oriented so that > 1 means Glia is better: Glia/Synapse for rates,
Synapse/Glia for times, sizes and memory.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.scenarios import ALL, Metric

RATIO_HEADER = "Glia vs Synapse (×, > 1 = Glia better)"


def _fmt(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if unit == "bytes":
        return f"{value / 1024:,.1f} KiB" if value < 1024 * 1024 else \
            f"{value / 1024 / 1024:,.2f} MiB"
    if unit == "s":
        return f"{value:,.2f} s" if value < 100 else f"{value:,.0f} s"
    digits = 1 if value < 100 else 0
    return f"{value:,.{digits}f} {unit}"


def ratio(metric: Metric, synapse: float | None, glia: float | None) -> float | None:
    """Oriented ratio, > 1 when Glia is better; None when either side is missing."""
    if synapse is None or glia is None or synapse <= 0 or glia <= 0:
        return None
    return glia / synapse if metric.better == "higher" else synapse / glia


def _value(results: dict[str, Any], scenario: str, server: str, key: str) -> float | None:
    entry = results["scenarios"].get(scenario, {}).get(server, {})
    value = entry.get("metrics", {}).get(key) if entry.get("status") == "ok" else None
    return None if value is None or math.isnan(value) else float(value)


def _cell(results: dict[str, Any], scenario: str, server: str, metric: Metric) -> str:
    """The formatted value, or why there is none (n/a, failed, interrupted)."""
    entry = results["scenarios"].get(scenario, {}).get(server)
    if entry and entry.get("status") != "ok":
        return str(entry["status"])
    return _fmt(_value(results, scenario, server, metric.key), metric.unit)


def _variants(results: dict[str, Any], scenario: str, key: str) -> list[str]:
    """The ``key@variant`` suffixes either server reported (sizes, operations), in order:
    numbers ascending, names as first seen."""
    seen: list[str] = []
    for entry in results["scenarios"].get(scenario, {}).values():
        for k in entry.get("metrics", {}):
            base, at, variant = k.partition("@")
            if at and base == key and variant not in seen:
                seen.append(variant)
    numeric = [v for v in seen if v.isdigit()]
    return sorted(numeric, key=int) + [v for v in seen if not v.isdigit()]


def _expand(results: dict[str, Any], scenario: str, metric: Metric) -> list[Metric]:
    """``metric`` itself, or one metric per variant a scenario measured it at."""
    variants = _variants(results, scenario, metric.key)
    if not variants:
        return [metric]
    return [replace(metric, key=f"{metric.key}@{v}", label=f"{metric.label} @ {v}")
            for v in variants]


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (scenario, metric[, variant]), with formatted cells and the raw ratio."""
    out = []
    for sc in ALL:
        if sc.name not in results["scenarios"]:
            continue
        for m in (v for base in sc.metrics for v in _expand(results, sc.name, base)):
            s = _value(results, sc.name, "synapse", m.key)
            g = _value(results, sc.name, "glia", m.key)
            r = ratio(m, s, g)
            ratio_cell = "n/a" if r is None else f"{r:,.2f}×"
            if s is None and g is not None and m.reference:
                who, ref = m.reference
                r = ratio(m, ref, g)
                ratio_cell = f"{r:,.2f}× vs {who} {ref:,.0f} {m.unit}"
            out.append({
                "scenario": sc.title, "name": sc.name, "metric": m.label,
                "synapse": _cell(results, sc.name, "synapse", m),
                "glia": _cell(results, sc.name, "glia", m),
                "ratio": r, "ratio_cell": ratio_cell,
            })
    return out


def notes(results: dict[str, Any]) -> list[str]:
    """Why each n/a or failed cell is what it is."""
    out = []
    for sc in ALL:
        for server in ("synapse", "glia"):
            entry = results["scenarios"].get(sc.name, {}).get(server)
            if entry and entry["status"] != "ok":
                out.append(f"{server} · {sc.name}: {entry['status']} — {entry['reason']}")
    return out


def text_table(results: dict[str, Any]) -> str:
    table = rows(results)
    head = ("Scenario", "Metric", "Synapse", "Glia", RATIO_HEADER)
    cells = [head] + [(r["scenario"], r["metric"], r["synapse"], r["glia"], r["ratio_cell"])
                      for r in table]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = []
    for n, c in enumerate(cells):
        lines.append("  ".join(v.ljust(widths[i]) if i < 2 else v.rjust(widths[i])
                               for i, v in enumerate(c)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", *notes(results)]
    return "\n".join(lines)


def markdown_table(results: dict[str, Any]) -> str:
    lines = [f"| Scenario | Metric | Synapse | Glia | {RATIO_HEADER} |",
             "|---|---|---:|---:|---:|"]
    for r in rows(results):
        lines.append(f"| {r['scenario']} | {r['metric']} | {r['synapse']} | {r['glia']} "
                     f"| {r['ratio_cell']} |")
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")


def write_chart(results: dict[str, Any], path: Path) -> bool:
    """A horizontal bar per metric, log scale, 1× marked; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    table = rows(results)
    labels = [f"{r['name']}: {r['metric']}" for r in table]
    values = [r["ratio"] or 1.0 for r in table]
    colors = ["#bbbbbb" if r["ratio"] is None else "#2e7d32" if r["ratio"] >= 1 else "#c62828"
              for r in table]
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(table) + 1.5))
    y = list(range(len(table)))[::-1]
    # Each bar runs from 1× to the ratio, so better and worse point opposite ways.
    ax.barh(y, [abs(v - 1.0) or 0.02 for v in values], left=[min(v, 1.0) for v in values],
            color=colors)
    ax.set_xscale("log")
    lo, hi = min([*values, 0.5]) / 1.5, max([*values, 2.0]) * 1.6
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
             if lo <= t <= hi]
    ax.set_xlim(lo, hi)
    ax.set_xticks(ticks, [f"{t:g}×" for t in ticks])
    ax.minorticks_off()
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(y, labels, fontsize=8)
    for yi, r, v in zip(y, table, values, strict=True):
        ax.text(v, yi, " n/a" if r["ratio"] is None else f" {r['ratio']:.2f}×",
                va="center", fontsize=7)
    ax.set_xlabel("ratio, log scale (> 1 = Glia better; grey = n/a)")
    ax.set_title(f"Glia vs Synapse — {results['scale']} scale, {results['database']}, "
                 f"{results['started_at'][:10]}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


#: The cost curves: (file stem, title, scenario, x label, [(metric key, y label)]).
CURVES = [
    ("big-room", "Big room: cost against member count", "big_room", "members in the room",
     [("cpu_ms_per_event", "server CPU per event (ms)"),
      ("join_cpu_ms", "server CPU per join (ms)")]),
    ("many-clients", "Many clients: sync wake latency against client count", "many_clients",
     "long-polling /sync clients", [("wake_p50_ms", "wake p50 (ms)"),
                                    ("wake_p99_ms", "wake p99 (ms)")]),
]


def curve(results: dict[str, Any], scenario: str, server: str, key: str
          ) -> list[tuple[int, float]]:
    """(size, value) points a server measured for ``key@size``, smallest size first."""
    points = []
    for variant in _variants(results, scenario, key):
        value = _value(results, scenario, server, f"{key}@{variant}") \
            if variant.isdigit() else None
        if value is not None:
            points.append((int(variant), value))
    return points


def write_curves(results: dict[str, Any], directory: Path, suffix: str) -> list[Path]:
    """One PNG per cost curve that has points (``<stem>-<suffix>.png``), each server a
    line, log-log when the sizes span a decade; [] if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    for stem, title, scenario, xlabel, panels in CURVES:
        lines = {(key, server): curve(results, scenario, server, key)
                 for key, _ in panels for server in ("synapse", "glia")}
        if not any(lines.values()):
            continue
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
        for ax, (key, ylabel) in zip(axes[0], panels, strict=True):
            xs_all: list[int] = []
            for server, colour in (("synapse", "#1565c0"), ("glia", "#2e7d32")):
                points = lines[(key, server)]
                if points:
                    xs, ys = zip(*points, strict=True)
                    xs_all += xs
                    ax.plot(xs, ys, marker="o", color=colour, label=server)
                    for x, y in points:
                        ax.annotate(f"{y:,.1f}", (x, y), textcoords="offset points",
                                    xytext=(4, 4), fontsize=7)
            if xs_all and max(xs_all) >= 10 * min(xs_all):
                ax.set_xscale("log")
                ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
            if xs_all:
                ax.legend(fontsize=8)
        m = results["machine"]
        fig.suptitle(f"{title} — {results['scale']} scale, {results['database']}, "
                     f"{results['started_at'][:10]}, {m.get('nproc')} cores, load "
                     f"{m.get('loadavg_at_start', [0])[0]:.1f}", fontsize=9)
        fig.tight_layout()
        path = directory / f"{stem}-{suffix}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def markdown(results: dict[str, Any]) -> str:
    """The table, the reasons for every n/a, and the conditions, for docs/performance.md."""
    m = results["machine"]
    servers = ", ".join(f"{n} {s.get('version') or s.get('error', '')}"
                        for n, s in results["servers"].items())
    lines = [
        f"Run {results['started_at']} · scale `{results['scale']}` · {results['database']} · "
        f"bcrypt rounds {results['bcrypt_rounds']} · {servers} "
        f"(checkout {results.get('glia_commit') or '?'})",
        f"Machine: {m.get('nproc')} cores ({m.get('cpu', '?')}), {m.get('mem_total_mb')} MB "
        f"RAM, load average at start {m.get('loadavg_at_start', ['?'])[0]:.2f}",
        "", markdown_table(results), "",
    ]
    for n in notes(results):  # code spans keep paths' underscores from turning italic
        head, _, reason = n.partition(" — ")
        lines.append(f"- {head} — `{reason}`" if reason else f"- {n}")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m bench.report bench/results/FILE.json
    import sys

    for name in sys.argv[1:]:
        print(markdown(json.loads(Path(name).read_text())))
