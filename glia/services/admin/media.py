"""Media administration on Synapse's paths: info, quarantine (by item, user or room),
protection, deletion (one item, by age and size, a user's page), a user's media list and
a room's media list.

Quarantine follows Synapse 1.128+: it spreads to every item with the same SHA-256, later
uploads of those bytes arrive quarantined, and protected items are never touched.
Deletions run as one durable job kind, ``media_delete`` (rows in batches, files after
each batch commits), which the synchronous Synapse endpoints schedule and wait for; its
partial result is saved per batch, so a job reclaimed after a crash resumes.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.protocol.canonical_json import INT64_MAX
from glia.services.admin.media_results import (
    DeletedMedia,
    MediaInfo,
    MediaInfoItem,
    Quarantined,
    RoomMedia,
    UserMediaItem,
    UserMediaList,
)
from glia.services.jobs import JobContext, JobsService
from glia.services.media import MediaService
from glia.services.targets import local_user
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage
from glia.storage.media import MEDIA_ORDER, Media

__all__ = ["MEDIA_DELETE", "MEDIA_ORDER", "MediaAdminService"]

MEDIA_DELETE = "media_delete"
BATCH = 100
#: Synapse's sanity check: a before_ts below this was surely given in seconds.
MIN_BEFORE_TS = 30_000_000_000


class MediaAdminService:
    def __init__(self, config: Config, storage: Storage, media: MediaService,
                 jobs: JobsService) -> None:
        self._server_name = config.server_name
        self._storage = storage
        self._media = media
        self._jobs = jobs

    def _local_user(self, user_id: str) -> None:
        local_user(user_id, self._server_name, "Can only look up local users")

    async def _existing_user(self, user_id: str) -> None:
        self._local_user(user_id)
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("Unknown user")

    # -- one item ----------------------------------------------------------------------

    async def info(self, server_name: str, media_id: str) -> MediaInfo:
        """Synapse's media info: our item, or the cached copy of another server's
        (never fetched for this)."""
        if server_name != self._server_name:
            remote = await self._storage.remote_media.get(server_name, media_id)
            if remote is None:
                raise errors.not_found("Unknown media")
            return MediaInfo(MediaInfoItem.of_remote(remote))
        media = await self._storage.media.get(media_id)
        if media is None:
            raise errors.not_found("Unknown media")
        return MediaInfo(MediaInfoItem.of(media))

    async def quarantine(self, uow: UnitOfWork, server_name: str, media_id: str) -> None:
        """Succeeds whether or not the item exists (or is cached), as in Synapse."""
        async with uow.transaction() as tx:
            if server_name == self._server_name:
                await tx.media.quarantine([media_id], uow.actor)
            else:
                await tx.remote_media.quarantine([(server_name, media_id)], uow.actor)

    async def unquarantine(self, uow: UnitOfWork, server_name: str, media_id: str) -> None:
        async with uow.transaction() as tx:
            if server_name == self._server_name:
                await tx.media.unquarantine(media_id)
            else:
                await tx.remote_media.unquarantine(server_name, media_id)

    async def protect(self, uow: UnitOfWork, media_id: str, protected: bool) -> None:
        async with uow.transaction() as tx:
            await tx.media.set_protected(media_id, protected)

    async def quarantine_user_media(self, uow: UnitOfWork, user_id: str) -> Quarantined:
        """Every item the user uploaded and not yet quarantined (a remote user has none
        here); the count is Synapse's: those items and all sharing their bytes."""
        async with uow.transaction() as tx:
            ids = await tx.media.user_media_ids(user_id, unquarantined=True)
            count = await tx.media.quarantine(ids, uow.actor)
        return Quarantined(count)

    async def room_media(self, room_id: str) -> RoomMedia:
        """Media referenced by the room's unencrypted events (``content.url`` and
        ``content.info.thumbnail_url``); an unknown room has none."""
        local: list[str] = []
        remote: list[str] = []
        prefix = f"mxc://{self._server_name}/"
        after: int | None = -1
        while after is not None:
            urls, after = await self._storage.media.room_media_urls(room_id, after, 500)
            for url in urls:
                (local if url.startswith(prefix) else remote).append(url)
        return RoomMedia(local, remote)

    async def quarantine_room_media(self, uow: UnitOfWork, room_id: str) -> Quarantined:
        """Our items and the cached copies of other servers' the room refers to."""
        prefix = f"mxc://{self._server_name}/"
        found = await self.room_media(room_id)
        ids = sorted({url[len(prefix):] for url in found.local})
        remote = sorted({(origin, media_id) for origin, _, media_id in
                         (url[len("mxc://"):].partition("/") for url in found.remote)
                         if media_id})
        count = 0
        async with uow.transaction() as tx:
            for start in range(0, len(ids), BATCH):
                count += await tx.media.quarantine(ids[start:start + BATCH], uow.actor)
            count += await tx.remote_media.quarantine(remote, uow.actor)
        return Quarantined(count)

    # -- lists -------------------------------------------------------------------------

    async def user_media(self, user_id: str, order_by: str | None, direction: str | None,
                         offset: int, limit: int) -> UserMediaList:
        """A page of the user's media; ``next_token`` while ``offset + limit`` is short
        of the total (Synapse's rule for this list)."""
        await self._existing_user(user_id)
        media, total = await self._user_page(user_id, order_by, direction, offset, limit)
        return UserMediaList([UserMediaItem.of(m) for m in media], total,
                             offset + len(media) if offset + limit < total else UNSET)

    async def _user_page(self, user_id: str, order_by: str | None, direction: str | None,
                         offset: int, limit: int) -> tuple[list[Media], int]:
        """Synapse's default is newest first; once ``order_by`` or ``dir`` is given the
        other defaults to ``created_ts`` / forwards."""
        backwards = True
        if order_by is not None or direction is not None:
            order_by = order_by or "created_ts"
            if order_by not in MEDIA_ORDER:
                raise errors.invalid_param(
                    f"Query parameter 'order_by' must be one of [{', '.join(MEDIA_ORDER)}]")
            backwards = direction == "b"
        return await self._storage.media.page_by_user(
            user_id, order_by or "created_ts", backwards, min(offset, INT64_MAX),
            min(limit, INT64_MAX))

    # -- deletion ----------------------------------------------------------------------

    async def delete_one(self, uow: UnitOfWork, server_name: str, media_id: str
                         ) -> DeletedMedia:
        if server_name != self._server_name:
            raise MatrixError(400, "M_UNKNOWN", "Can only delete local media")
        if await self._storage.media.get(media_id) is None:
            raise errors.not_found("Unknown media")
        return await self._run_delete(uow, {"media_ids": [media_id]}, media_id)

    async def delete_old(self, uow: UnitOfWork, server_name: str | None,
                         before_ts: int, size_gt: int, keep_profiles: bool, dry_run: bool
                         ) -> DeletedMedia:
        """Items last accessed (never accessed: created) before ``before_ts``, larger than
        ``size_gt`` bytes, neither quarantined nor protected, and unless ``keep_profiles``
        is false not in use as an avatar."""
        if before_ts < MIN_BEFORE_TS:
            raise errors.invalid_param(
                "Query parameter before_ts you provided is from the year 1970. Double check"
                " that you are providing a timestamp in milliseconds.")
        if server_name is not None and server_name != self._server_name:
            raise MatrixError(400, "M_UNKNOWN", "Can only delete local media")
        params = {"before_ts": min(before_ts, INT64_MAX),
                  "size_gt": min(size_gt, INT64_MAX), "keep_profiles": keep_profiles}
        if dry_run:
            ids = [m.media_id async for m in self._sweep(params, "")]
            return DeletedMedia(ids, len(ids), dry_run=True)
        return await self._run_delete(uow, params, None)

    async def delete_user_media(self, uow: UnitOfWork, user_id: str, order_by: str | None,
                                direction: str | None, offset: int, limit: int,
                                dry_run: bool) -> DeletedMedia:
        """The page the list would show with the same parameters, deleted."""
        await self._existing_user(user_id)
        media, _ = await self._user_page(user_id, order_by, direction, offset, limit)
        ids = [m.media_id for m in media]
        if dry_run:
            return DeletedMedia(ids, len(ids), dry_run=True)
        return await self._run_delete(uow, {"media_ids": ids}, user_id)

    async def _run_delete(self, uow: UnitOfWork, params: dict[str, Any], target: str | None
                          ) -> DeletedMedia:
        """Schedule the deletion job (its row commits with the audit row) and wait."""
        async with uow.transaction() as tx:
            job_id = await self._jobs.schedule(MEDIA_DELETE, params, uow.actor,
                                               tx=tx, target=target)
        job = await self._jobs.wait(job_id)
        if job.status == "cancelled":
            raise MatrixError(400, "M_UNKNOWN", "Media deletion cancelled")
        if job.status != "complete":
            raise MatrixError(500, "M_UNKNOWN", job.error or "Media deletion failed")
        result = job.result or {}
        deleted = [str(i) for i in result.get("deleted_media", [])]
        return DeletedMedia(deleted, len(deleted))

    async def _sweep(self, params: dict[str, Any], after: str) -> Any:
        """The items an age/size deletion selects, after media ID ``after``."""
        keep: set[str] = set()
        prefix = f"mxc://{self._server_name}/"
        if params.get("keep_profiles", True):
            keep = await self._storage.media.profile_urls(prefix)
        while True:
            batch = await self._storage.media.sweep_candidates(
                int(params["before_ts"]), int(params["size_gt"]), after, BATCH)
            if not batch:
                return
            for media in batch:
                if prefix + media.media_id not in keep:
                    yield media
            after = batch[-1].media_id

    async def delete_job(self, context: JobContext) -> dict[str, Any]:
        """Delete in batches: rows in one transaction, then that batch's files. Each
        batch records its deleted IDs as job items (and a sweep saves the last ID it
        looked at), so a reclaimed job continues instead of starting over, and a batch
        costs the same however many came before."""
        params = context.params
        deleted = len(await context.items())
        if "media_ids" in params:
            ids = [str(i) for i in params["media_ids"]]
            await context.progress(deleted, len(ids))
            for start in range(0, len(ids), BATCH):
                await self._delete_batch(context, ids[start:start + BATCH])
                await context.progress(min(start + BATCH, len(ids)), len(ids))
        else:
            cursor = str((context.job.result or {}).get("cursor", ""))
            batch: list[str] = []
            async for media in self._sweep(params, cursor):
                batch.append(media.media_id)
                if len(batch) >= BATCH:
                    deleted += await self._delete_batch(context, batch)
                    await context.save_result({"cursor": batch[-1]})
                    await context.progress(deleted)
                    batch = []
            if batch:
                deleted += await self._delete_batch(context, batch)
                await context.progress(deleted)
        done = sorted(await context.items())
        return {"deleted_media": done, "total": len(done)}

    async def _delete_batch(self, context: JobContext, media_ids: list[str]) -> int:
        async with self._storage.transaction() as tx:
            gone = await tx.media.delete(media_ids)
            await context.record([(media_id, "deleted") for media_id in gone], tx)
        await self._media.remove_files(gone)
        return len(gone)
