"""Moderation tools beside room deletion: make_room_admin, force-join, forward
extremities, fetch_event and history purges (a job, with Synapse's status view)."""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import InvalidId, is_valid_room_alias, is_valid_room_id, parse_user_id
from glia.protocol.canonical_json import NonNegativeInt
from glia.services.admin.rooms import PURGE_BATCH, RoomAdminService
from glia.services.events import EventRequest, EventsService, StoredEvent
from glia.services.jobs import JobContext, JobRunner, JobsService
from glia.services.membership import MembershipService
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage
from glia.storage.jobs import CANCELLED

__all__ = ["PURGE_HISTORY", "ForceJoin", "MakeRoomAdmin", "PurgeHistoryRequest",
           "RoomModerationService"]

logger = logging.getLogger(__name__)

PURGE_HISTORY = "purge_history"



class MakeRoomAdmin(msgspec.Struct):
    """``POST /v1/rooms/{roomId}/make_room_admin``: whom (default: the caller)."""

    user_id: str | None = None


class ForceJoin(msgspec.Struct):
    """``POST /v1/join/{roomIdOrAlias}``."""

    user_id: str


class PurgeHistoryRequest(msgspec.Struct):
    """``POST /v1/purge_history/{roomId}[/{eventId}]``: up to an event or a time."""

    delete_local_events: bool = False
    purge_up_to_event_id: str | None = None
    purge_up_to_ts: NonNegativeInt | None = None


class RoomModerationService:
    def __init__(self, config: Config, storage: Storage, events: EventsService,
                 membership: MembershipService, jobs: JobsService,
                 rooms: RoomAdminService) -> None:
        self._config = config
        self._storage = storage
        self._events = events
        self._membership = membership
        self._jobs = jobs
        self._rooms = rooms

    def job_runners(self) -> dict[str, JobRunner]:
        return {PURGE_HISTORY: self._purge_history_job}

    async def _resolve(self, room_id_or_alias: str) -> str:
        """A room ID or local alias as Synapse's admin API resolves it: neither → ``400
        M_UNKNOWN`` (its generic error), unknown → ``404``."""
        if not is_valid_room_id(room_id_or_alias) and \
                not is_valid_room_alias(room_id_or_alias):
            raise MatrixError(400, "M_UNKNOWN",
                              f"{room_id_or_alias} was not legal room ID or room alias")
        return await self._membership.resolve_room(room_id_or_alias)

    @property
    def _server_name(self) -> str:
        return self._config.server_name

    async def make_room_admin(self, uow: UnitOfWork, room_id_or_alias: str,
                              body: MakeRoomAdmin) -> dict[str, Any]:
        """Give ``user_id`` (default: the caller) the power of the room's most powerful
        local member, sending the power levels as that member; invite them if needed.
        Each is an event committed on its own; the audit row commits with the first."""
        try:
            room_id = await self._resolve(room_id_or_alias)
        except MatrixError as e:
            if e.errcode != "M_NOT_FOUND" or not is_valid_room_id(room_id_or_alias):
                raise
            # Synapse finds no current state for a room it does not know.
            raise MatrixError(400, "M_UNKNOWN", "Server not in room") from e
        target = body.user_id or uow.actor
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
        joined = {u for u, _ in await self._rooms.local_members(room_id, ("join",))}
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
        with uow.event_writes():
            await self._promote(room_id, ranked[0], target, creators, users, levels,
                                events.get(ids.get(("m.room.join_rules", ""), "")))
        return {}

    async def _promote(self, room_id: str, admin_user: str, target: str,
                       creators: list[str], users: dict[str, Any],
                       levels: StoredEvent | None, rule: StoredEvent | None) -> None:
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
        public = rule is not None and rule.content.get("join_rule") == "public"
        if (member is None or member.membership not in ("join", "invite")) and not public:
            await self._membership.invite(admin_user, room_id, target, None)

    async def force_join(self, uow: UnitOfWork, room_id_or_alias: str, body: ForceJoin
                         ) -> dict[str, Any]:
        """Join a local user to a room; for non-public rooms the calling admin invites
        them first (and so must be able to). The audit row commits with the first of
        these events."""
        user_id = body.user_id
        try:
            local = parse_user_id(user_id).domain == self._server_name
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        if not local:
            raise MatrixError(400, "M_UNKNOWN", "This endpoint can only be used with local users")
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        room_id = await self._resolve(room_id_or_alias)
        ids = await self._storage.state.current_ids(room_id, [("m.room.join_rules", "")])
        rules = await self._storage.events.get_many(list(ids.values()))
        public = any(e.content.get("join_rule") == "public" for e in rules.values())
        member = await self._storage.state.membership_of(room_id, user_id)
        with uow.event_writes():
            if not public and (member is None or member.membership not in ("join", "invite")):
                await self._membership.invite(uow.actor, room_id, user_id, None)
            await self._membership.join(user_id, room_id, None)
        return {"room_id": room_id}

    async def forward_extremities(self, room_id_or_alias: str) -> dict[str, Any]:
        room_id = await self._resolve(room_id_or_alias)
        ids = await self._storage.rooms.forward_extremities(room_id)
        events = await self._storage.events.get_many(ids)
        # Glia has no state groups; the state after an event is that at its stream
        # position, which stands in for Synapse's integer ``state_group``.
        results = [{"event_id": e.event_id, "state_group": e.stream_ordering,
                    "depth": e.depth, "received_ts": e.pdu.get("origin_server_ts")}
                   for e in sorted(events.values(), key=lambda e: e.stream_ordering)]
        return {"count": len(results), "results": results}

    async def delete_forward_extremities(self, uow: UnitOfWork, room_id_or_alias: str
                                         ) -> dict[str, Any]:
        """Keep only the newest forward extremity (Synapse's repair for wide DAGs)."""
        room_id = await self._resolve(room_id_or_alias)
        events = await self._storage.events.get_many(
            await self._storage.rooms.forward_extremities(room_id))
        if len(events) <= 1:
            return {"deleted": 0}
        newest = max(events.values(), key=lambda e: e.stream_ordering)
        async with uow.transaction() as tx:
            await tx.rooms.lock(room_id)
            deleted = await tx.admin_rooms.delete_forward_extremities_except(
                room_id, newest.event_id)
        return {"deleted": deleted}

    async def fetch_event(self, event_id: str) -> dict[str, Any]:
        """Any stored event in federation format with its ``event_id``, whatever the
        admin's membership. A redacted one shows its original content while it is kept
        (``redaction_retention_period``), with ``unsigned.redacted_because``: admins
        need the evidence, as Synapse shows it."""
        event = await self._storage.events.get(event_id)
        if event is None:
            raise errors.not_found("Event not found")
        pdu = event.pdu
        if event.redacted_by is not None:
            pdu = await self._storage.events.original(event_id) or pdu
        # ``age`` as Synapse serialises every event it serves (tools show "sent … ago").
        unsigned = {**event.unsigned, "age": max(0, now_ms() - int(pdu["origin_server_ts"]))}
        return {"event": {**pdu, "event_id": event.event_id, "unsigned": unsigned}}

    # -- history purges ------------------------------------------------------------------

    async def purge_history(self, uow: UnitOfWork, room_id: str, event_id: str | None,
                            body: PurgeHistoryRequest) -> dict[str, Any]:
        """Delete message events older than a point as a job (state is always kept; local
        users' events only with ``delete_local_events``); the job row commits with the
        audit row."""
        await self._rooms.known(room_id)
        delete_local = body.delete_local_events
        event_id = event_id or body.purge_up_to_event_id
        if event_id is not None:
            point = await self._storage.events.get(event_id)
            if point is None:
                raise errors.not_found("Event not found")
            if point.room_id != room_id:
                raise MatrixError(400, "M_UNKNOWN", "Event is for wrong room.")
        elif body.purge_up_to_ts is not None:
            point = await self._first_kept(room_id, body.purge_up_to_ts)
        else:
            raise errors.bad_json("must specify purge_up_to_event_id or purge_up_to_ts")
        params = {"room_id": room_id, "depth": point.depth, "stream": point.stream_ordering,
                  "delete_local_events": delete_local}
        async with uow.transaction() as tx:
            job_id = await self._jobs.schedule(PURGE_HISTORY, params, uow.actor,
                                               tx=tx, target=room_id)
        return {"purge_id": job_id}

    async def _first_kept(self, room_id: str, ts: int) -> StoredEvent:
        """Where a purge up to ``ts`` stops, as Synapse: the room's first event at or
        after ``ts``, so every older one goes — or, when all are older, the newest, which
        the room needs to carry on from. 404 when nothing is older than ``ts``."""
        events = self._storage.events
        if ts == 0 or not await events.closest_by_ts(room_id, ts - 1, False, 1):
            raise errors.not_found("there is no event to be purged")
        later = await events.closest_by_ts(room_id, ts, True, 1)
        point = later[0] if later else await events.latest_in_room(room_id)
        if point is None:
            raise errors.not_found("there is no event to be purged")
        return point

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
