"""Room administration: Synapse's room list, details, members, state, blocks and room
deletion (v1 synchronous, v2 as a job with status), and Dendrite's evacuateRoom,
evacuateUser, purgeRoom and emptyRooms.

Deletion is one job kind, ``shutdown_and_purge_room``: block → replacement room → every
local member leaves (and forgets; former joiners join the replacement) → aliases move →
purge in batches. Each step saves its partial result, so a job reclaimed after a crash
resumes where it stopped instead of creating a second replacement room.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import InvalidId, is_valid_room_id, parse_user_id
from glia.protocol.room_versions import RoomVersion
from glia.services.admin.audit import AuditEntry, AuditService
from glia.services.admin.jobs import Job, JobContext, JobsService
from glia.services.auth import Requester
from glia.services.events import EventRequest, EventsService, StoredEvent, client_event
from glia.services.membership import MembershipService
from glia.services.rooms import RoomService
from glia.storage import Storage, Stores
from glia.storage.admin_rooms import ROOM_ORDER, STAT_STATE, RoomListQuery
from glia.storage.engine import Row
from glia.storage.jobs import ACTIVE, CANCELLED, SCHEDULED

__all__ = ["PURGE_HISTORY", "PURGE_ROOM", "ROOM_ORDER", "SHUTDOWN_AND_PURGE",
           "RoomAdminService", "RoomListQuery"]

logger = logging.getLogger(__name__)

SHUTDOWN_AND_PURGE = "shutdown_and_purge_room"
PURGE_ROOM = "purge_room"
PURGE_HISTORY = "purge_history"
PURGE_BATCH = 1000
DEFAULT_ROOM_NAME = "Content Violation Notification"
DEFAULT_MESSAGE = ("Sharing illegal content on this server is not permitted and rooms in"
                   " violation will be blocked.")
#: Local memberships a room deletion ends (invites and knocks are rejected).
EVICTED = ("join", "invite", "knock")


def _bool(body: Mapping[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise errors.bad_json(f"Param '{key}' must be a boolean, if given")
    return value


def _str(body: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = body.get(key, default)
    if value is not None and not isinstance(value, str):
        raise errors.bad_json(f"Param '{key}' must be a string, if given")
    return value


def list_item(row: Row) -> dict[str, Any]:
    """One room of ``GET /v1/rooms``: all 15 keys, always (Element Admin checks)."""
    return {
        "room_id": row["room_id"], "name": row["name"],
        "canonical_alias": row["canonical_alias"],
        "joined_members": int(row["joined_members"]),
        "joined_local_members": int(row["joined_local_members"]),
        "version": row["room_version"], "creator": row["creator"],
        "encryption": row["encryption"], "federatable": bool(row["federatable"]),
        "public": bool(row["published"]), "join_rules": row["join_rules"],
        "guest_access": row["guest_access"], "history_visibility": row["history_visibility"],
        "state_events": int(row["state_events"]), "room_type": row["room_type"],
    }


def delete_task(job: Job) -> dict[str, Any]:
    """A deletion job as Synapse's delete-status task object."""
    status = job.status
    if status == CANCELLED:
        status = "failed"  # Synapse has no "cancelled"; pollers wait for complete/failed
    task: dict[str, Any] = {
        "delete_id": job.job_id, "room_id": job.target, "status": status,
        "shutdown_room": (job.result or {}).get("shutdown_room"),
    }
    if job.error is not None or job.status == CANCELLED:
        task["error"] = job.error or "cancelled"
    return task


class RoomAdminService:
    def __init__(self, config: Config, storage: Storage, events: EventsService,
                 rooms: RoomService, membership: MembershipService, jobs: JobsService,
                 audit: AuditService) -> None:
        self._config = config
        self._storage = storage
        self._events = events
        self._rooms = rooms
        self._membership = membership
        self._jobs = jobs
        self._audit = audit
        events.on_persist(self._update_stats)
        jobs.register(SHUTDOWN_AND_PURGE, self._shutdown_and_purge)
        jobs.register(PURGE_ROOM, self._purge_job)
        jobs.register(PURGE_HISTORY, self._purge_history_job)

    @property
    def _server_name(self) -> str:
        return self._config.server_name

    # -- statistics ----------------------------------------------------------------------

    async def _update_stats(self, tx: Stores, event: StoredEvent, _: RoomVersion) -> None:
        """Keep ``room_stats`` current from inside the event writer's transaction, by
        deltas: a recount would cost a scan of the room's members per join."""
        if event.state_key is None:
            return
        await self._apply_state(tx, event)
        replaced = "replaces_state" in event.unsigned
        joined = local = 0
        if event.type == "m.room.member":
            before = event.unsigned.get("prev_content", {}).get("membership") \
                if replaced else None
            after = event.content.get("membership")
            joined = (after == "join") - (before == "join")
            local = joined if event.state_key.endswith(f":{self._server_name}") else 0
        await tx.admin_rooms.adjust_counts(event.room_id, 0 if replaced else 1, joined, local)

    async def _apply_state(self, tx: Stores, event: StoredEvent) -> None:
        content = event.content
        if event.type == "m.room.create":
            room_type = content.get("type")
            await tx.admin_rooms.create_stats(
                event.room_id, room_type if isinstance(room_type, str) else None,
                content.get("m.federate", True) is not False)
        elif event.type in STAT_STATE and event.state_key == "":
            column, key = STAT_STATE[event.type]
            value = content.get(key)
            await tx.admin_rooms.set_stat(event.room_id, column,
                                          value if isinstance(value, str) else None)

    async def backfill_stats(self) -> int:
        """Build statistics for rooms that predate them (run at start-up)."""
        missing = await self._storage.admin_rooms.rooms_without_stats()
        for room_id in missing:
            async with self._storage.transaction() as tx:
                ids = await tx.state.current_ids(room_id)
                events = await tx.events.get_many(list(ids.values()))
                create = [e for e in events.values() if e.type == "m.room.create"]
                for event in create + [e for e in events.values() if e not in create]:
                    await self._apply_state(tx, event)
                await tx.admin_rooms.recount(room_id, self._server_name)
        if missing:
            logger.info("built room statistics for %d rooms", len(missing))
        return len(missing)

    # -- reading -------------------------------------------------------------------------

    async def page(self, query: RoomListQuery, offset: int, limit: int
                   ) -> tuple[list[dict[str, Any]], int]:
        rows, total = await self._storage.admin_rooms.page(query, offset, limit)
        return [list_item(r) for r in rows], total

    def _room_id(self, room_id: str) -> str:
        if not is_valid_room_id(room_id):
            raise MatrixError(400, "M_UNKNOWN", f"{room_id} is not a legal room ID")
        return room_id

    async def _known(self, room_id: str) -> Row:
        row = await self._storage.admin_rooms.get(self._room_id(room_id))
        if row is None:
            raise errors.not_found("Room not found")
        return row

    async def details(self, room_id: str) -> dict[str, Any]:
        row = await self._known(room_id)
        stats = self._storage.admin_rooms
        return {
            **list_item(row), "topic": row["topic"], "avatar": row["avatar"],
            "joined_local_devices": await stats.local_devices_of_joined(
                room_id, self._server_name),
            "forgotten": await stats.forgotten_by_all_local(room_id, self._server_name),
            "tombstoned": row["tombstone_successor"] is not None,
            "replacement_room": row["tombstone_successor"],
        }

    async def members(self, room_id: str) -> dict[str, Any]:
        await self._known(room_id)
        joined = await self._storage.state.members_at(room_id, None, ["join"])
        members = sorted(m.user_id for m in joined)
        return {"members": members, "total": len(members)}

    async def state(self, room_id: str, event_type: str | None) -> dict[str, Any]:
        await self._known(room_id)
        ids = await self._storage.state.ids_at(
            room_id, None, types=[event_type] if event_type is not None else None)
        events = await self._storage.events.get_many(list(ids.values()))
        now = now_ms()
        ordered = sorted(events.values(), key=lambda e: e.stream_ordering)
        return {"state": [client_event(e, None, now) for e in ordered]}

    # -- blocks --------------------------------------------------------------------------

    async def block_status(self, room_id: str) -> dict[str, Any]:
        blocked_by = await self._storage.admin_rooms.blocked_by(self._room_id(room_id))
        if blocked_by is None:
            return {"block": False}
        return {"block": True, "user_id": blocked_by}

    async def set_block(self, requester: Requester, room_id: str, body: Mapping[str, Any],
                        entry: AuditEntry | None) -> dict[str, Any]:
        self._room_id(room_id)
        if "block" not in body:
            raise errors.missing_param("Missing boolean param 'block'")
        block = body["block"]
        if not isinstance(block, bool):
            raise errors.bad_json("Param 'block' must be a boolean.")
        async with self._audit.transaction(entry) as tx:
            if block:
                await tx.admin_rooms.block(room_id, requester.user_id, now_ms())
            else:
                await tx.admin_rooms.unblock(room_id)
        return {"block": block}

    # -- deletion (Synapse v1 and v2) ----------------------------------------------------

    def _delete_params(self, room_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        self._room_id(room_id)
        new_room_user_id = _str(body, "new_room_user_id", None)
        if new_room_user_id is not None:
            try:
                local = parse_user_id(new_room_user_id).domain == self._server_name
            except InvalidId:
                local = False
            if not local:
                raise MatrixError(400, "M_UNKNOWN", f"User must be our own: {new_room_user_id}")
        return {
            "room_id": room_id, "new_room_user_id": new_room_user_id,
            "room_name": _str(body, "room_name", DEFAULT_ROOM_NAME),
            "message": _str(body, "message", DEFAULT_MESSAGE),
            "block": _bool(body, "block", False), "purge": _bool(body, "purge", True),
            "force_purge": _bool(body, "force_purge", False),
        }

    async def _schedule_delete(self, requester: Requester, room_id: str,
                               body: Mapping[str, Any], entry: AuditEntry | None) -> str:
        params = self._delete_params(room_id, body)
        async with self._audit.transaction(entry) as tx:
            running, _ = await tx.jobs.page(kind=SHUTDOWN_AND_PURGE, status=None,
                                            target=room_id, offset=0, limit=100)
            if any(j.status in (SCHEDULED, ACTIVE) for j in running):
                raise MatrixError(400, "M_UNKNOWN", f"Purge already in progress for {room_id}")
            return await self._jobs.schedule(SHUTDOWN_AND_PURGE, params, requester.user_id,
                                             tx=tx, target=room_id)

    async def delete_v2(self, requester: Requester, room_id: str, body: Mapping[str, Any],
                        entry: AuditEntry | None) -> dict[str, Any]:
        return {"delete_id": await self._schedule_delete(requester, room_id, body, entry)}

    async def delete_v1(self, requester: Requester, room_id: str, body: Mapping[str, Any],
                        entry: AuditEntry | None) -> dict[str, Any]:
        """The synchronous delete: the same job, waited for."""
        job = await self._jobs.wait(
            await self._schedule_delete(requester, room_id, body, entry))
        if job.status != "complete":
            raise MatrixError(400, "M_UNKNOWN", job.error or f"Room deletion {job.status}")
        return dict((job.result or {}).get("shutdown_room") or _empty_shutdown())

    async def delete_status_by_room(self, room_id: str) -> dict[str, Any]:
        self._room_id(room_id)
        jobs = await self._jobs.latest_for(SHUTDOWN_AND_PURGE, room_id)
        tasks = [delete_task(j) for j in jobs if j.status != SCHEDULED]
        if not tasks:
            raise errors.not_found(f"No delete task for room_id '{room_id}' found")
        return {"results": tasks}

    async def delete_status(self, delete_id: str) -> dict[str, Any]:
        job = await self._storage.jobs.get(delete_id)
        if job is None or job.kind != SHUTDOWN_AND_PURGE:
            raise errors.not_found(f"delete id '{delete_id}' not found")
        return delete_task(job)

    async def _shutdown_and_purge(self, job: JobContext) -> dict[str, Any]:
        p = job.params
        room_id = str(p["room_id"])
        saved = dict(job.job.result or {})
        shutdown: dict[str, Any] = dict(saved.get("shutdown_room") or _empty_shutdown())
        if p["block"]:
            await self._storage.admin_rooms.block(room_id, job.job.started_by, now_ms())
        if await self._storage.rooms.get(room_id) is None:
            return {"shutdown_room": shutdown}
        new_room_user_id = p.get("new_room_user_id")
        if new_room_user_id and not shutdown["new_room_id"]:
            shutdown["new_room_id"] = await self._replacement_room(
                str(new_room_user_id), str(p["room_name"]), str(p["message"]))
            await job.save_result({"shutdown_room": shutdown})
        await self._evict(job, room_id, shutdown)
        if shutdown["new_room_id"]:
            moved = await self._storage.directory.move_aliases(room_id, shutdown["new_room_id"])
            shutdown["local_aliases"] = sorted({*shutdown["local_aliases"], *moved})
        await self._storage.rooms.set_published(room_id, False)
        await job.save_result({"shutdown_room": shutdown})
        if p["purge"]:
            if not p["force_purge"]:
                joined = await self._local_members(room_id, ("join",))
                if joined:
                    raise MatrixError(400, "M_UNKNOWN", "Users are still joined to this room")
            await self._purge(job, room_id)
        return {"shutdown_room": shutdown}

    async def _replacement_room(self, creator: str, name: str, message: str) -> str:
        room_id = await self._rooms.create_room(creator, {
            "preset": "public_chat", "name": name,
            "power_level_content_override": {"users_default": -10},
        })
        await self._events.send(room_id, EventRequest(
            creator, "m.room.message", {"msgtype": "m.text", "body": message}))
        return room_id

    async def _evict(self, job: JobContext, room_id: str, shutdown: dict[str, Any]) -> None:
        """Evict every local member. The list is saved before the first leave, so a run
        resumed after a crash still reports a member whose leave committed just before it."""
        saved = (job.job.result or {}).get("to_evict")
        members = [tuple(m) for m in saved] if saved is not None else \
            await self._local_members(room_id, EVICTED)
        await job.save_result({"shutdown_room": shutdown, "to_evict": members})
        handled = {*shutdown["kicked_users"], *shutdown["failed_to_kick_users"]}
        done = 0
        for user_id, membership in members:
            done += 1
            if user_id in handled:
                continue
            try:
                current = await self._storage.state.membership_of(room_id, user_id)
                if current is not None and current.membership in EVICTED:
                    await self._membership.leave(user_id, room_id, None)
                await self._storage.rooms.forget(user_id, room_id)
                if membership == "join" and shutdown["new_room_id"]:
                    await self._membership.join(user_id, shutdown["new_room_id"], None)
                shutdown["kicked_users"].append(user_id)
            except MatrixError as e:
                logger.warning("room delete: %s could not leave %s: %s", user_id, room_id,
                               e.error)
                shutdown["failed_to_kick_users"].append(user_id)
            await job.save_result({"shutdown_room": shutdown, "to_evict": members})
            await job.progress(done, len(members))

    async def _local_members(self, room_id: str, memberships: tuple[str, ...]
                             ) -> list[tuple[str, str]]:
        suffix = f":{self._server_name}"
        rows = await self._storage.state.members_at(room_id, None, list(memberships))
        return sorted((m.user_id, m.membership) for m in rows if m.user_id.endswith(suffix))

    async def _purge(self, job: JobContext, room_id: str) -> int:
        """Delete the room's events in batches (progress per batch), then the rest."""
        stats = self._storage.admin_rooms
        total = await stats.count_events(room_id)
        done = 0
        await job.progress(done, total)
        while True:
            async with self._storage.transaction() as tx:
                deleted = await tx.admin_rooms.delete_event_batch(room_id, PURGE_BATCH)
            if not deleted:
                break
            done += deleted
            await job.progress(done, max(total, done))
        async with self._storage.transaction() as tx:
            await tx.search.delete_room(room_id)
            await tx.admin_rooms.delete_room_rows(room_id)
        logger.info("purged room %s: %d events", room_id, done)
        return done

    # -- moderation tools ----------------------------------------------------------------

    async def make_room_admin(self, requester: Requester, room_id_or_alias: str,
                              body: Mapping[str, Any]) -> dict[str, Any]:
        """Give ``user_id`` (default: the caller) the power of the room's most powerful
        local member, sending the power levels as that member; invite them if needed."""
        room_id = await self._membership.resolve_room(room_id_or_alias)
        target = _str(body, "user_id", requester.user_id) or requester.user_id
        try:
            parse_user_id(target)
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        ids = await self._storage.state.current_ids(
            room_id, [("m.room.create", ""), ("m.room.power_levels", ""),
                      ("m.room.join_rules", "")])
        if not ids:
            raise MatrixError(400, "M_UNKNOWN", "Server not in room")
        events = await self._storage.events.get_many(list(ids.values()))
        create = events.get(ids.get(("m.room.create", ""), ""))
        levels = events.get(ids.get(("m.room.power_levels", ""), ""))
        joined = {u for u, _ in await self._local_members(room_id, ("join",))}
        _, version = await self._events.room(room_id)
        creators: list[str] = []
        if create is not None and version.privileged_creators:
            extra = create.content.get("additional_creators", [])
            creators = [create.sender, *(c for c in extra if isinstance(c, str))]
        users = dict(levels.content.get("users", {})) if levels is not None else {}
        ranked = [c for c in creators if c in joined] + sorted(
            (u for u in users if u in joined and isinstance(users[u], int)),
            key=lambda u: -int(users[u]))
        if levels is None and create is not None and create.sender in joined:
            ranked = [create.sender]
        if not ranked:
            raise MatrixError(400, "M_UNKNOWN", "No local admin user in room")
        admin_user = ranked[0]
        level = users.get(admin_user, 100)
        if levels is not None and target not in creators and users.get(target) != level:
            new = dict(levels.content)
            new["users"] = {**users, target: level}
            try:
                await self._events.send(room_id, EventRequest(
                    admin_user, "m.room.power_levels", new, state_key=""))
            except MatrixError as e:
                raise MatrixError(400, "M_UNKNOWN", "No local admin user in room with power"
                                  " to update power levels.") from e
        member = await self._storage.state.membership_of(room_id, target)
        rule = events.get(ids.get(("m.room.join_rules", ""), ""))
        public = rule is not None and rule.content.get("join_rule") == "public"
        if (member is None or member.membership not in ("join", "invite")) and not public:
            await self._membership.invite(admin_user, room_id, target, None)
        return {}

    async def force_join(self, requester: Requester, room_id_or_alias: str,
                         body: Mapping[str, Any]) -> dict[str, Any]:
        """Join a local user to a room; for non-public rooms the calling admin invites
        them first (and so must be able to)."""
        if "user_id" not in body:
            raise errors.missing_param("Missing param 'user_id'")
        user_id = body["user_id"]
        if not isinstance(user_id, str):
            raise errors.bad_json("'user_id' must be a string")
        try:
            local = parse_user_id(user_id).domain == self._server_name
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        if not local:
            raise MatrixError(400, "M_UNKNOWN", "This endpoint can only be used with local users")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        room_id = await self._membership.resolve_room(room_id_or_alias)
        ids = await self._storage.state.current_ids(room_id, [("m.room.join_rules", "")])
        rules = await self._storage.events.get_many(list(ids.values()))
        public = any(e.content.get("join_rule") == "public" for e in rules.values())
        member = await self._storage.state.membership_of(room_id, user_id)
        if not public and (member is None or member.membership not in ("join", "invite")):
            await self._membership.invite(requester.user_id, room_id, user_id, None)
        await self._membership.join(user_id, room_id, None)
        return {"room_id": room_id}

    async def forward_extremities(self, room_id_or_alias: str) -> dict[str, Any]:
        room_id = await self._membership.resolve_room(room_id_or_alias)
        ids = await self._storage.rooms.forward_extremities(room_id)
        events = await self._storage.events.get_many(ids)
        results = [{"event_id": e.event_id, "state_group": None, "depth": e.depth,
                    "received_ts": e.pdu.get("origin_server_ts")}
                   for e in sorted(events.values(), key=lambda e: e.stream_ordering)]
        return {"count": len(results), "results": results}

    async def delete_forward_extremities(self, room_id_or_alias: str,
                                         entry: AuditEntry | None) -> dict[str, Any]:
        """Keep only the newest forward extremity (Synapse's repair for wide DAGs)."""
        room_id = await self._membership.resolve_room(room_id_or_alias)
        events = await self._storage.events.get_many(
            await self._storage.rooms.forward_extremities(room_id))
        if len(events) <= 1:
            return {"deleted": 0}
        newest = max(events.values(), key=lambda e: e.stream_ordering)
        async with self._audit.transaction(entry) as tx:
            await tx.rooms.lock(room_id)
            deleted = await tx.admin_rooms.delete_forward_extremities_except(
                room_id, newest.event_id)
        return {"deleted": deleted}

    async def fetch_event(self, event_id: str) -> dict[str, Any]:
        """Any stored event in federation format, whatever the admin's membership."""
        event = await self._storage.events.get(event_id)
        if event is None:
            raise errors.not_found("Event not found")
        return {"event": {**event.pdu, "unsigned": dict(event.unsigned)}}

    # -- history purges ------------------------------------------------------------------

    async def purge_history(self, requester: Requester, room_id: str, event_id: str | None,
                            body: Mapping[str, Any], entry: AuditEntry | None
                            ) -> dict[str, Any]:
        """Delete message events older than a point as a job (state is always kept; local
        users' events only with ``delete_local_events``)."""
        await self._known(room_id)
        delete_local = _bool(body, "delete_local_events", False)
        event_id = event_id or _str(body, "purge_up_to_event_id", None)
        if event_id is not None:
            point = await self._storage.events.get(event_id)
            if point is None:
                raise errors.not_found("Event not found")
            if point.room_id != room_id:
                raise MatrixError(400, "M_UNKNOWN", "Event is for wrong room.")
        elif "purge_up_to_ts" in body:
            ts = body["purge_up_to_ts"]
            if isinstance(ts, bool) or not isinstance(ts, int):
                raise errors.bad_json("purge_up_to_ts must be an int")
            found = await self._storage.events.closest_by_ts(room_id, ts, False, 1)
            if not found:
                raise errors.not_found("there is no event to be purged")
            point = found[0]
        else:
            raise errors.bad_json("must specify purge_up_to_event_id or purge_up_to_ts")
        params = {"room_id": room_id, "depth": point.depth, "stream": point.stream_ordering,
                  "delete_local_events": delete_local}
        async with self._audit.transaction(entry) as tx:
            job_id = await self._jobs.schedule(PURGE_HISTORY, params, requester.user_id,
                                               tx=tx, target=room_id)
        return {"purge_id": job_id}

    async def purge_history_status(self, purge_id: str) -> dict[str, Any]:
        job = await self._storage.jobs.get(purge_id)
        if job is None or job.kind != PURGE_HISTORY:
            raise errors.not_found(f"purge id '{purge_id}' not found")
        status = job.status if job.status in ("complete", "failed") else "active"
        if job.status == CANCELLED:
            status = "failed"
        out: dict[str, Any] = {"status": status}
        if status == "failed":
            out["error"] = job.error or "cancelled"
        return out

    async def _purge_history_job(self, job: JobContext) -> dict[str, Any]:
        p = job.params
        room_id = str(p["room_id"])
        keep = None if p["delete_local_events"] else f":{self._server_name}"
        deleted = 0
        while True:
            async with self._storage.transaction() as tx:
                batch = await tx.admin_rooms.history_batch(
                    room_id, (int(p["depth"]), int(p["stream"])), keep, PURGE_BATCH)
                for event_id in batch:
                    await tx.search.delete_event(event_id, room_id)
                deleted += await tx.admin_rooms.delete_events(batch)
            await job.progress(deleted)
            if len(batch) < PURGE_BATCH:
                break
        logger.info("purged %d events of %s's history", deleted, room_id)
        return {"deleted_events": deleted}

    # -- Dendrite ------------------------------------------------------------------------

    async def evacuate_room(self, room_id: str, dry_run: bool) -> dict[str, Any]:
        """Every local joined member leaves (Dendrite's ``evacuateRoom``)."""
        await self._known(room_id)
        joined = [u for u, _ in await self._local_members(room_id, ("join",))]
        if dry_run:
            return {"affected": joined, "dry_run": True}
        affected = []
        for user_id in joined:
            try:
                await self._membership.leave(user_id, room_id, None)
            except MatrixError as e:
                logger.warning("evacuate: %s could not leave %s: %s", user_id, room_id, e.error)
                continue
            affected.append(user_id)
        return {"affected": affected}

    async def evacuate_user(self, user_id: str, dry_run: bool) -> dict[str, Any]:
        """A local user leaves every joined room and rejects every invite."""
        try:
            parsed = parse_user_id(user_id)
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        if parsed.domain != self._server_name:
            raise errors.invalid_param("can only evacuate local users using this endpoint")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found(f"Unknown user {user_id}")
        if dry_run:
            rooms = await self._storage.state.rooms_of_user(user_id, ["join", "invite"])
            return {"affected": sorted(m.room_id for m in rooms), "dry_run": True}
        return {"affected": await self._membership.leave_all(user_id, ("join", "invite"))}

    async def purge_room(self, requester: Requester, room_id: str, dry_run: bool,
                         entry: AuditEntry | None) -> dict[str, Any]:
        """Dendrite's ``purgeRoom``: remove the room from the database as a job, without
        evicting anyone (evacuate first)."""
        await self._known(room_id)
        if dry_run:
            return {
                "dry_run": True, "room_id": room_id,
                "events": await self._storage.admin_rooms.count_events(room_id),
                "local_members": [u for u, _ in await self._local_members(room_id, EVICTED)],
                "aliases": await self._storage.directory.aliases_of(room_id),
            }
        async with self._audit.transaction(entry) as tx:
            job_id = await self._jobs.schedule(PURGE_ROOM, {"room_id": room_id},
                                               requester.user_id, tx=tx, target=room_id)
        return {"job_id": job_id}

    async def _purge_job(self, job: JobContext) -> dict[str, Any]:
        room_id = str(job.params["room_id"])
        if await self._storage.rooms.get(room_id) is None:
            return {"events": 0}
        return {"events": await self._purge(job, room_id)}

    async def empty_rooms(self) -> dict[str, Any]:
        """Rooms no local user is joined to (Dendrite answers ``null`` for none; Glia ``[]``)."""
        return {"empty_rooms": await self._storage.admin_rooms.rooms_without_local_members()}


def _empty_shutdown() -> dict[str, Any]:
    return {"kicked_users": [], "failed_to_kick_users": [], "local_aliases": [],
            "new_room_id": None}
