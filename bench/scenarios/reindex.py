"""8. Admin: rebuild the full-text index over at least N events — events/s.

Dendrite's ``POST /_dendrite/admin/fulltext/reindex`` returns at once; Glia runs it as a
job (``/_glia/admin/v1/jobs/{id}``, status and done/total), so the time is from the request
to the job's ``complete``. The database is first topped up with messages to N. Synapse has
no reindex API, so the comparison is Dendrite's documented ~1,300 events/s.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.client import q
from bench.scale import Scale
from bench.scenarios.base import Metric, NotAvailable, Outcome, Scenario
from bench.target import Target, bounded

REINDEX = "/_dendrite/admin/fulltext/reindex"
JOBS = "/_glia/admin/v1/jobs"
DENDRITE_EVENTS_PER_S = 1300.0


def _job_id(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    for key in ("job_id", "id"):
        if body.get(key):
            return str(body[key])
    job = body.get("job")
    return _job_id(job) if isinstance(job, dict) else None


def _total(job: dict[str, Any]) -> int | None:
    progress = job.get("progress")
    for source in (progress if isinstance(progress, dict) else {}, job.get("result") or {},
                   job):
        for key in ("total", "done", "events", "indexed"):
            if isinstance(source.get(key), int):
                return int(source[key])
    return None


async def _join_unless_creator(t: Target, user: Any, room: str, creator: bool) -> None:
    if not creator:
        await t.client.join(user, room)


async def run(t: Target, scale: Scale) -> Outcome:
    tok = (await t.get_admin()).access_token
    need = scale.reindex_events - t.messages_written
    if need > 0:
        users = await t.fresh_users(10)
        rooms = await bounded(10, 4, lambda i: t.client.create_room(
            users[i], preset="public_chat", name=f"bench reindex {i}"))
        # send_many posts round-robin over the rooms, so every sender joins every room.
        await bounded(len(users) * len(rooms), 4, lambda k: _join_unless_creator(
            t, users[k // len(rooms)], rooms[k % len(rooms)], k // len(rooms) == k % len(rooms)))
        await t.send_many(rooms, users, need, 10, "filling for reindex")
    start = time.perf_counter()
    body = (await t.client.call("POST", REINDEX, tok, json={})).body
    job_id = _job_id(body)
    if job_id is None:
        jobs = (await t.client.call("GET", JOBS, tok, params={"limit": 1, "dir": "b"})).body
        listed = jobs.get("jobs", []) if isinstance(jobs, dict) else []
        job_id = _job_id(listed[0]) if listed else None
    if job_id is None:
        raise NotAvailable("reindex answered without a job to poll; completion not observable")
    while True:
        job = (await t.client.call("GET", f"{JOBS}/{q(job_id)}", tok)).body
        status = job.get("status")
        if status == "complete":
            break
        if status in ("failed", "cancelled"):
            raise RuntimeError(f"reindex job {status}: {job.get('error')}")
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    total = _total(job)
    events = total if total is not None else t.messages_written
    return Outcome({"events_per_s": events / elapsed},
                   {"events": events, "events_from": "job" if total is not None else
                    "messages this run wrote", "seconds": elapsed, "job_id": job_id})


SCENARIO = Scenario(
    name="reindex",
    title="Admin: full-text reindex",
    metrics=[Metric("events_per_s", "reindex events/s", "events/s", "higher",
                    reference=("Dendrite (documented)", DENDRITE_EVENTS_PER_S))],
    requires=[
        ("POST", REINDEX),
        ("GET", f"{JOBS}/probe"),
        ("POST", "/_matrix/client/v3/createRoom"),
        ("PUT", "/_matrix/client/v3/rooms/!probe:localhost/send/m.room.message/probe"),
    ],
    run=run,
    note={"synapse": "Synapse has no full-text reindex API"},
)
