"""1. Register users through shared-secret admin registration — users/s.

Password hashing dominates, so both servers hash at the same bcrypt cost
(``--bcrypt-rounds``). The users go to the pool the later scenarios draw from.
"""

from __future__ import annotations

import time

from bench.client import User, percentile
from bench.scale import Scale
from bench.scenarios.base import Metric, Outcome, Scenario
from bench.target import Target, bounded


async def run(t: Target, scale: Scale) -> Outcome:
    progress = t.progress("registering", scale.register_users)

    async def one(_: int) -> tuple[User, float]:
        result = await t.register("r")
        progress.step()
        return result

    start = time.perf_counter()
    done = await bounded(scale.register_users, scale.register_concurrency, one)
    elapsed = time.perf_counter() - start
    t.give([u for u, _ in done])
    ms = [m for _, m in done]
    return Outcome(
        {"users_per_s": len(done) / elapsed, "p50_ms": percentile(ms, 50)},
        {"users": len(done), "concurrency": scale.register_concurrency, "seconds": elapsed},
    )


SCENARIO = Scenario(
    name="register",
    title="Register users (shared-secret admin registration)",
    metrics=[
        Metric("users_per_s", "users/s", "users/s", "higher"),
        Metric("p50_ms", "p50 per registration", "ms", "lower"),
    ],
    requires=[("GET", "/_synapse/admin/v1/register")],
    run=run,
)
