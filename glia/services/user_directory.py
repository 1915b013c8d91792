"""The user directory: ``POST /user_directory/search``, kept current as rooms change.

Whom a user may find follows the spec's minimum (and Synapse): users joined to a room
the searcher is joined to, and users joined to a *public* room — join rule ``public`` or
history visibility ``world_readable``. With ``user_directory.search_all_users`` every
user in the directory is found. Deactivated and support accounts never are.

The directory holds one public profile per user: this server's users' global profile,
and for users of other servers the name and avatar of a join to a public room. It is kept
current by

- :class:`UserDirectoryIndexer`, a subscriber of the event-write pipeline: member events
  refresh their user's entry, join-rule and history-visibility changes a room's
  publicness (it recomputes from current state, so a retry or a replay is harmless);
- :func:`refresh_local`, called where a local profile is written (registration, profile
  changes, admin edits), in the same transaction where there is one;

and rebuilt from scratch by the ``user_directory_rebuild`` job (Synapse's
``regenerate_directory`` background update).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from glia.config import Config
from glia.services.event_fanout import WrittenEvent
from glia.services.jobs import JobContext, JobsService
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage, Stores
from glia.storage.search import terms
from glia.storage.user_directory import DirectoryEntry

__all__ = ["USER_DIRECTORY_REBUILD", "DirectorySearchResult", "UserDirectoryIndexer",
           "UserDirectoryService", "refresh_local"]

logger = logging.getLogger(__name__)

USER_DIRECTORY_REBUILD = "user_directory_rebuild"
#: Most results one search returns, whatever ``limit`` asks (each is a few hundred bytes).
MAX_RESULTS = 1000
#: Users or rooms one rebuild step handles, in one transaction.
BATCH_SIZE = 500

_PUBLICNESS_KEYS = [("m.room.join_rules", ""), ("m.room.history_visibility", "")]


@dataclass(frozen=True)
class DirectorySearchResult:
    results: list[DirectoryEntry]
    limited: bool


async def refresh_local(stores: Stores, user_id: str) -> None:
    """Write this server's user's directory entry from their global profile."""
    profile = await stores.profile.get(user_id)
    await stores.user_directory.upsert(DirectoryEntry(
        user_id, profile.displayname if profile else None,
        profile.avatar_url if profile else None))


async def _room_is_public(stores: Stores, room_id: str) -> bool:
    ids = await stores.state.current_ids_by_key(room_id, _PUBLICNESS_KEYS)
    events = await stores.events.get_many(list(ids.values()))
    rules = events.get(ids.get(("m.room.join_rules", ""), ""))
    visibility = events.get(ids.get(("m.room.history_visibility", ""), ""))
    return (rules is not None and rules.content.get("join_rule") == "public") or \
        (visibility is not None
         and visibility.content.get("history_visibility") == "world_readable")


def _text(content: dict[str, Any], key: str) -> str | None:
    value = content.get(key)
    return value if isinstance(value, str) and value else None


class UserDirectoryService:
    def __init__(self, config: Config, storage: Storage, jobs: JobsService) -> None:
        self._config = config
        self._storage = storage
        self._jobs = jobs
        self._suffix = ":" + config.server_name

    def is_local(self, user_id: str) -> bool:
        return user_id.endswith(self._suffix)

    async def search(self, searcher: str, search_term: str, limit: int
                     ) -> DirectorySearchResult:
        """Users the searcher may find whose user ID or display name has a word starting
        with each word of ``search_term`` (case-insensitively); ``limited`` when there
        were more than ``limit``."""
        options = self._config.user_directory
        words = terms(search_term)
        if not options.enabled or not words:
            return DirectorySearchResult([], limited=False)
        wanted = min(limit, MAX_RESULTS)
        found = await self._storage.user_directory.search(
            searcher, words, options.search_all_users, wanted + 1)
        return DirectorySearchResult(found[:wanted], limited=len(found) > wanted)

    # -- keeping it current ----------------------------------------------------------

    async def member_changed(self, room_id: str, user_id: str,
                             event_content: dict[str, Any]) -> None:
        """A member event of ``user_id`` in ``room_id`` was written: refresh their entry.
        A remote user's name and avatar are taken from joins to public rooms only, so a
        nickname used in a private room never reaches the directory."""
        async with self._storage.transaction() as tx:
            if self.is_local(user_id):
                await refresh_local(tx, user_id)
            elif not await tx.user_directory.is_joined_anywhere(user_id):
                await tx.user_directory.remove(user_id)
            elif event_content.get("membership") == "join" and \
                    await _room_is_public(tx, room_id):
                await tx.user_directory.upsert(DirectoryEntry(
                    user_id, _text(event_content, "displayname"),
                    _text(event_content, "avatar_url")))
            else:
                await tx.user_directory.add_if_absent(user_id)

    async def room_publicness_changed(self, room_id: str) -> None:
        async with self._storage.transaction() as tx:
            await tx.user_directory.set_room_public(room_id,
                                                    await _room_is_public(tx, room_id))

    # -- rebuilding ------------------------------------------------------------------

    async def rebuild(self, uow: UnitOfWork) -> dict[str, str]:
        """Schedule a rebuild, its job row committed with the audit row (or name the one
        already under way: two would do the same work twice)."""
        async with uow.transaction() as tx:
            return {"job_id": await self._jobs.schedule_once(USER_DIRECTORY_REBUILD, uow.actor, tx)}

    async def rebuild_job(self, context: JobContext) -> dict[str, Any]:
        """Rewrite every room's publicness, every local user's entry and every joined
        remote user's entry, in batches; drop remote users joined nowhere. Each step is
        an idempotent rewrite, so a restarted job simply starts over."""
        store = self._storage.user_directory
        rooms = public = users = 0
        after = ""
        while batch := await store.room_ids(after, BATCH_SIZE):
            async with self._storage.transaction() as tx:
                for room_id in batch:
                    is_public = await _room_is_public(tx, room_id)
                    await tx.user_directory.set_room_public(room_id, is_public)
                    public += is_public
            rooms += len(batch)
            after = batch[-1]
            await context.progress(rooms + users)
        after = ""
        while entries := await store.local_profiles(self._suffix, after, BATCH_SIZE):
            async with self._storage.transaction() as tx:
                for entry in entries:
                    await tx.user_directory.upsert(entry)
            users += len(entries)
            after = entries[-1].user_id
            await context.progress(rooms + users)
        after = ""
        while members := await store.remote_members(self._suffix, after, BATCH_SIZE):
            joins = await self._storage.events.get_many([e for _, e in members if e])
            async with self._storage.transaction() as tx:
                for user_id, event_id in members:
                    join = joins.get(event_id) if event_id else None
                    content = join.content if join is not None else {}
                    await tx.user_directory.upsert(DirectoryEntry(
                        user_id, _text(content, "displayname"), _text(content, "avatar_url")))
            users += len(members)
            after = members[-1][0]
            await context.progress(rooms + users)
        removed = await store.remove_remote_absent(self._suffix)
        logger.info("user directory rebuilt: %d users, %d rooms (%d public)", users, rooms,
                    public)
        return {"users": users, "rooms": rooms, "public_rooms": public,
                "removed": removed}


class UserDirectoryIndexer:
    """The event-write pipeline's subscriber that keeps the directory current."""

    name = "user_directory"

    def __init__(self, directory: UserDirectoryService) -> None:
        self._directory = directory

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        members: dict[str, tuple[str, dict[str, Any]]] = {}
        rooms: set[str] = set()
        for written in events:
            event = written.event
            if event.type == "m.room.member" and event.state_key is not None:
                members[event.state_key] = (event.room_id, event.content)
            elif event.state_key == "" and (event.type, "") in _PUBLICNESS_KEYS:
                rooms.add(event.room_id)
        for room_id in sorted(rooms):
            await self._directory.room_publicness_changed(room_id)
        for user_id, (room_id, content) in members.items():
            await self._directory.member_changed(room_id, user_id, content)
