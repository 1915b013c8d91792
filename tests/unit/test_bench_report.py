"""The benchmark report's per-size rows and cost curves (the scale scenarios report
``metric@size`` keys), and the parsing of the size lists on its command line."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.run import _counts


def _results(glia: dict[str, float], synapse: dict[str, float] | None = None
             ) -> dict[str, Any]:
    entry = {"status": "ok", "metrics": glia, "info": {}, "reason": "", "seconds": 1}
    scenarios: dict[str, Any] = {"big_room": {"glia": entry}}
    if synapse is not None:
        scenarios["big_room"]["synapse"] = {**entry, "metrics": synapse}
    return {"scenarios": scenarios, "scale": "small", "database": "SQLite",
            "started_at": "2026-12-03T12:00:00+00:00",
            "machine": {"nproc": 2, "loadavg_at_start": [1.0, 1.0, 1.0]}}


def test_rows_expand_sizes_in_numeric_order_with_ratios() -> None:
    results = _results({"cpu_ms_per_event@1000": 4.0, "cpu_ms_per_event@200": 2.0},
                       {"cpu_ms_per_event@200": 20.0, "cpu_ms_per_event@1000": 80.0})
    rows = [r for r in report.rows(results) if r["metric"].startswith("CPU/event")]
    assert [r["metric"] for r in rows] == ["CPU/event @ 200", "CPU/event @ 1000"]
    assert [r["ratio"] for r in rows] == [10.0, 20.0]  # lower is better: Synapse / Glia


def test_curve_points_per_server() -> None:
    results = _results({"join_cpu_ms@5000": 9.0, "join_cpu_ms@1000": 8.0})
    assert report.curve(results, "big_room", "glia", "join_cpu_ms") == [(1000, 8.0),
                                                                        (5000, 9.0)]
    assert report.curve(results, "big_room", "synapse", "join_cpu_ms") == []


def test_write_curves(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    results = _results({"cpu_ms_per_event@50": 3.0, "cpu_ms_per_event@200": 5.0})
    written = report.write_curves(results, tmp_path, "small-sqlite")
    assert written == [tmp_path / "big-room-small-sqlite.png"]
    assert written[0].read_bytes().startswith(b"\x89PNG")


def test_size_lists() -> None:
    assert _counts("5000,1000, 20000") == (1000, 5000, 20000)
    for bad in ("", "0,10", "ten"):
        with pytest.raises(argparse.ArgumentTypeError):
            _counts(bad)
