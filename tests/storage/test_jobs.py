"""Durable admin jobs on the engine under test: claiming (oldest first, stale workers'
jobs reclaimed), heartbeats, results, finishing, cancelling, and the list."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.jobs import ACTIVE, CANCELLED, COMPLETE, SCHEDULED, Job


async def test_insert_get_and_list(storage: Storage) -> None:
    jobs = storage.jobs
    await jobs.insert("j1", "purge", {"room": "!r:test", "ü": [1]}, "@a:test", 10, "!r:test")
    await jobs.insert("j2", "reindex", {}, "@a:test", 20, None)
    await jobs.insert("j3", "purge", {}, "@b:test", 20, "!s:test")
    assert await jobs.get("j1") == Job("j1", "purge", {"room": "!r:test", "ü": [1]},
                                       SCHEDULED, 0, None, None, None, "@a:test", 10, None,
                                       None, "!r:test")
    assert await jobs.get("nope") is None
    page, total = await jobs.page(kind=None, status=None, target=None, offset=0, limit=10)
    # Newest first; equal times by job ID.
    assert ([j.job_id for j in page], total) == (["j2", "j3", "j1"], 3)
    page, total = await jobs.page(kind="purge", status=None, target=None, offset=1, limit=1)
    assert ([j.job_id for j in page], total) == (["j1"], 2)
    page, total = await jobs.page(kind=None, status=None, target="!s:test", offset=0,
                                  limit=10)
    assert ([j.job_id for j in page], total) == (["j3"], 1)
    assert await jobs.page(kind="x", status=None, target=None, offset=0, limit=10) == ([], 0)


async def test_claim_heartbeat_finish(storage: Storage) -> None:
    jobs = storage.jobs
    await jobs.insert("later", "k", {}, "@a:test", 20, None)
    await jobs.insert("first", "k", {}, "@a:test", 10, None)
    claimed = await jobs.claim("w1", now=100, stale_before=50)
    assert claimed is not None
    assert (claimed.job_id, claimed.status, claimed.started_ts) == ("first", ACTIVE, 100)
    assert await jobs.heartbeat("first", "w1", 110, 3, 10) is True
    # Another claim's heartbeat changes nothing, and says the job is not its to run.
    assert await jobs.heartbeat("first", "w2", 120, 9, 99) is False
    await jobs.save_result("first", "w1", {"partial": 1})
    job = await jobs.get("first")
    assert job is not None and (job.done, job.total, job.result) == (3, 10, {"partial": 1})
    # A heartbeat without a total keeps the known one.
    await jobs.heartbeat("first", "w1", 111, 4, None)
    job = await jobs.get("first")
    assert job is not None and (job.done, job.total) == (4, 10)
    assert not await jobs.finish("first", "w2", COMPLETE, 200, {"x": 1}, None)  # Not its job.
    job = await jobs.get("first")
    assert job is not None and job.status == ACTIVE
    assert await jobs.finish("first", "w1", COMPLETE, 200, {"deleted": 2**53 - 1}, None)
    job = await jobs.get("first")
    assert job is not None
    assert (job.status, job.finished_ts, job.result, job.error) == (
        COMPLETE, 200, {"deleted": 2**53 - 1}, None)
    assert await jobs.heartbeat("first", "w1", 300, 5, None) is False
    assert await jobs.status("first") == COMPLETE
    assert await jobs.heartbeat("nope", "w1", 300, 5, None) is False
    assert await jobs.status("nope") is None


async def test_stale_jobs_are_reclaimed(storage: Storage) -> None:
    jobs = storage.jobs
    await jobs.insert("j", "k", {}, "@a:test", 10, None)
    first = await jobs.claim("w1", now=100, stale_before=0)
    assert first is not None and first.job_id == "j"
    # w1 is alive (heartbeat at 100, not before 50): nothing to claim.
    assert await jobs.claim("w2", now=120, stale_before=50) is None
    taken = await jobs.claim("w2", now=300, stale_before=101)
    assert taken is not None and (taken.job_id, taken.started_ts) == ("j", 100)
    # The silent worker lost it: its heartbeat says so and writes nothing.
    assert await jobs.heartbeat("j", "w1", 301, 1, None) is False
    assert not await jobs.save_result("j", "w1", {"stale": True})
    job = await jobs.get("j")
    assert job is not None and job.done == 0


async def test_cancel(storage: Storage) -> None:
    jobs = storage.jobs
    await jobs.insert("s", "k", {}, "@a:test", 10, None)
    await jobs.insert("a", "k", {}, "@a:test", 5, None)
    await jobs.claim("w", now=20, stale_before=0)
    assert await jobs.cancel("s", 30)
    assert await jobs.cancel("a", 31)
    assert not await jobs.cancel("a", 32)
    assert not await jobs.cancel("nope", 32)
    job = await jobs.get("a")
    assert job is not None and (job.status, job.finished_ts) == (CANCELLED, 31)
    assert await jobs.heartbeat("a", "w", 40, 1, None) is False
    assert await jobs.status("a") == CANCELLED
    assert await jobs.claim("w", now=50, stale_before=50) is None
