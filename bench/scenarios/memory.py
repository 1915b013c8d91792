"""9. Memory: resident set size of each server (process tree), idle and at peak — MB.

Idle is sampled after start-up, before any scenario; the peak is the highest sample
(every 0.5 s) over the whole run, so it is read last.
"""

from __future__ import annotations

from bench.scale import Scale
from bench.scenarios.base import Metric, Outcome, Scenario
from bench.target import Target


async def run(t: Target, scale: Scale) -> Outcome:
    t.sampler.sample()
    return Outcome({"idle_mb": t.sampler.idle[t.name], "peak_mb": t.sampler.peak[t.name]},
                   {"pid": t.server.proc.pid})


SCENARIO = Scenario(
    name="memory",
    title="Memory (RSS, process tree)",
    metrics=[
        Metric("idle_mb", "RSS idle", "MB", "lower"),
        Metric("peak_mb", "RSS peak", "MB", "lower"),
    ],
    requires=[],
    run=run,
)
