"""Rebuilding the full-text index: Dendrite's ``fulltext/reindex``, as a durable job.

Dendrite answers ``{}`` and rebuilds in the background with no way to follow it; here the
rebuild is a ``search_reindex`` job (progress done/total, cancellable, restarted from the
beginning if its process dies: every step is an idempotent rewrite of one window of
events). It logs what Dendrite logs, ``Indexed N events in X s``, which admins grep for.
Search keeps working throughout: windows are rewritten in place, never emptied first.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from glia.services.jobs import JobContext, JobsService
from glia.services.search_entries import INDEXED_TYPES, entry_for, with_newest_text
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage

__all__ = ["SEARCH_REINDEX", "SearchAdminService"]

logger = logging.getLogger(__name__)

SEARCH_REINDEX = "search_reindex"
#: Events read (and one progress line logged) per step, as Dendrite does.
BATCH_SIZE = 1000
_END = 2**62


class SearchAdminService:
    def __init__(self, storage: Storage, jobs: JobsService) -> None:
        self._storage = storage
        self._jobs = jobs

    async def reindex(self, uow: UnitOfWork, dry_run: bool) -> dict[str, Any]:
        """Start a rebuild, its job row committed with the audit row (or report the one
        already under way: two would only do the same work twice). A dry run counts the
        events a rebuild would read."""
        if dry_run:
            count = await self._storage.search.count_sources(INDEXED_TYPES)
            return {"dry_run": True, "count": count}
        async with uow.transaction() as tx:
            return {"job_id": await self._jobs.schedule_once(SEARCH_REINDEX, uow.actor, tx)}

    async def reindex_job(self, context: JobContext) -> dict[str, Any]:
        """Rewrite the index window by window, in stream order, one transaction each."""
        started = time.monotonic()
        store = self._storage.search
        total = await store.count_sources(INDEXED_TYPES)
        await context.progress(0, total)
        after = read = indexed = 0
        while True:
            sources = await store.sources(INDEXED_TYPES, after, BATCH_SIZE)
            if not sources:
                break
            entries, skipped = [], []
            for s in sources:
                entry = entry_for(s.stream_ordering, s.event_id, s.room_id, s.sender,
                                  s.type, s.state_key, s.content)
                if entry is None:
                    skipped.append(s.stream_ordering)
                else:
                    entries.append(entry)
            upto = sources[-1].stream_ordering
            entries = await with_newest_text(self._storage.events, entries)
            async with self._storage.transaction() as tx:
                indexed += await tx.search.replace_range(after, upto, skipped, entries)
            after = upto
            read += len(sources)
            # Events written meanwhile can take the count past the first estimate.
            total = max(total, read)
            logger.info("search reindex: read %d of %d events, indexed %d", read, total,
                        indexed)
            await context.progress(read, total)
        # Past the last indexable event: only rows whose event is gone or redacted.
        async with self._storage.transaction() as tx:
            await tx.search.replace_range(after, _END, [], [])
        elapsed = time.monotonic() - started
        logger.info("Indexed %d events in %.3fs", indexed, elapsed)
        return {"indexed": indexed, "read": read, "elapsed_ms": int(elapsed * 1000)}
