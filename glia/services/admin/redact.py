"""Synapse's user redaction (``POST /v1/user/{userId}/redact``): redact a user's recent
messages, encrypted events and joins in some or all of their rooms, as a durable job of
kind ``redact_user_events`` whose status ``GET /v1/user/redact_status/{id}`` reports.

Who sends the redactions: Synapse sends them as the user (or, with ``use_admin`` or for
remote users, as the admin) and points each at the redacted event as its only previous
event, so the user's old membership authorises it even after a ban. Glia's single event
writer always builds on the room's current state, so instead it picks, per room, the
first sender the current state allows: the user while still joined (and ``use_admin``
is not set), else the requesting admin if joined with the power to redact, else the
local member with the most power to redact. An event nobody here may redact is listed
in ``failed_redactions`` with the reason.
"""

from __future__ import annotations

from typing import Any

import msgspec

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import is_valid_room_id
from glia.protocol.canonical_json import NonNegativeInt, SafeInt
from glia.protocol.power_levels import action_level, event_level, room_creators, user_level
from glia.services.events import EventRequest, EventsService
from glia.services.jobs import JobContext, JobRunner, JobsService
from glia.services.targets import is_local, parse_user
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage
from glia.storage.jobs import ACTIVE, CANCELLED, COMPLETE, FAILED, SCHEDULED

REDACT_USER_EVENTS = "redact_user_events"
#: Synapse's default number of the user's newest events examined per room.
DEFAULT_LIMIT = 1000
NOBODY_MAY_REDACT = "No local member of the room may redact this event"



class RedactRequest(msgspec.Struct):
    """Synapse's schema: ``rooms`` required (``[]``: every room the user is in),
    ``reason``, ``limit`` (negative refused; 0 or absent: the default, as Synapse),
    ``use_admin``, ``after_ts``, ``before_ts``."""

    rooms: list[str]
    reason: str | None = None
    limit: SafeInt | None = None
    use_admin: bool | None = None
    after_ts: NonNegativeInt | None = None
    before_ts: NonNegativeInt | None = None

    def __post_init__(self) -> None:
        for room_id in self.rooms:
            if not is_valid_room_id(room_id):
                raise errors.invalid_param(f"{room_id} is not a legal room ID")
        if self.limit is not None and self.limit < 0:
            raise MatrixError(400, "M_UNKNOWN", "If limit is provided it must be a "
                              "non-negative integer greater than 0.")

    def job_params(self) -> dict[str, Any]:
        """The job's parameters (rooms deduplicated, defaults filled in)."""
        return {
            "rooms": list(dict.fromkeys(self.rooms)), "reason": self.reason,
            "limit": self.limit or DEFAULT_LIMIT,
            "use_admin": bool(self.use_admin), "after_ts": self.after_ts,
            "before_ts": self.before_ts,
        }


class UserRedactService:
    def __init__(self, config: Config, storage: Storage, events: EventsService,
                 jobs: JobsService) -> None:
        self._config = config
        self._storage = storage
        self._events = events
        self._jobs = jobs

    def job_runners(self) -> dict[str, JobRunner]:
        return {REDACT_USER_EVENTS: self._job}

    def _is_local(self, user_id: str) -> bool:
        return is_local(user_id, self._config.server_name)

    async def redact(self, uow: UnitOfWork, user_id: str, body: RedactRequest
                     ) -> dict[str, Any]:
        """Schedule the job (its row commits with the audit row); ``rooms: []`` means the
        rooms the user is joined to or banned from right now."""
        local = parse_user(user_id).domain == self._config.server_name
        params = body.job_params()
        if local and await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        if not params["rooms"]:
            members = await self._storage.state.rooms_of_user(user_id, ["join", "ban"])
            params["rooms"] = [m.room_id for m in members]
        params.update(user_id=user_id, admin=uow.actor)
        async with uow.transaction() as tx:
            for status in (SCHEDULED, ACTIVE):
                running, _ = await tx.jobs.page(kind=REDACT_USER_EVENTS, status=status,
                                                target=user_id, offset=0, limit=1)
                if running:
                    raise MatrixError(400, "M_UNKNOWN",
                                      f"Redact already in progress for user {user_id}")
            job_id = await self._jobs.schedule(REDACT_USER_EVENTS, params, uow.actor,
                                               tx=tx, target=user_id)
        return {"redact_id": job_id}

    async def status(self, redact_id: str) -> dict[str, Any]:
        """Synapse's status object; ``failed_redactions`` always present (Draupnir's
        schema requires it even while the job runs)."""
        job = await self._storage.jobs.get(redact_id)
        if job is None or job.kind != REDACT_USER_EVENTS:
            raise errors.not_found(f"redact id '{redact_id}' not found")
        failed = dict((job.result or {}).get("failed_redactions") or {}) \
            if job.status != ACTIVE else await self._storage.jobs.items(redact_id)
        if job.status in (FAILED, CANCELLED):
            return {"status": FAILED, "error": job.error or "cancelled",
                    "failed_redactions": failed}
        status = job.status if job.status in (SCHEDULED, ACTIVE, COMPLETE) else ACTIVE
        return {"status": status, "failed_redactions": failed}

    # -- the job ---------------------------------------------------------------------

    async def _job(self, job: JobContext) -> dict[str, Any]:
        """Idempotent: redacted events are no longer listed and failed ones are recorded
        as job items (one row each), so a job restarted after a crash continues where it
        was. The status shows the failures once the job is done."""
        p = job.params
        user_id = str(p["user_id"])
        failed = await job.items()
        work: list[tuple[str, list[str]]] = []
        for room_id in p["rooms"]:
            ids = await self._storage.admin_users.events_to_redact(
                user_id, room_id, int(p["limit"]), p.get("after_ts"), p.get("before_ts"))
            work.append((room_id, [i for i in ids if i not in failed]))
        total = sum(len(ids) for _, ids in work)
        done = redacted = 0
        await job.progress(0, total)
        content = {"reason": p["reason"]} if p.get("reason") is not None else {}
        for room_id, ids in work:
            if not ids:
                continue
            senders = await self._senders(room_id, user_id, str(p["admin"]),
                                          bool(p.get("use_admin")))
            for event_id in ids:
                error = await self._redact_one(room_id, event_id, senders, content)
                if error is None:
                    redacted += 1
                else:
                    await job.record([(event_id, error)])
                done += 1
                await job.progress(done, total)
        return {"failed_redactions": await job.items(), "redacted": redacted}

    async def _redact_one(self, room_id: str, event_id: str, senders: list[str],
                          content: dict[str, Any]) -> str | None:
        """Redact as the first sender the room accepts (moved to the front for the next
        event); the last refusal if none, else None."""
        error = NOBODY_MAY_REDACT
        for sender in list(senders):
            try:
                await self._events.send(room_id, EventRequest(
                    sender, "m.room.redaction", content, redacts=event_id, by_admin=True))
            except MatrixError as e:
                error = e.error
                continue
            senders.remove(sender)
            senders.insert(0, sender)
            return None
        return error

    async def _senders(self, room_id: str, user_id: str, admin: str,
                       use_admin: bool) -> list[str]:
        """Who may send the room's redactions, best first (see the module docstring)."""
        try:
            _, version = await self._events.room(room_id)
        except MatrixError:
            return []
        joined = {m.user_id for m in
                  await self._storage.state.members_at(room_id, None, ["join"])}
        senders = []
        if not use_admin and user_id in joined and self._is_local(user_id):
            senders.append(user_id)
        ids = await self._storage.state.current_ids(
            room_id, [("m.room.create", ""), ("m.room.power_levels", "")])
        events = await self._storage.events.get_many(list(ids.values()))
        create = events.get(ids.get(("m.room.create", ""), ""))
        levels = events.get(ids.get(("m.room.power_levels", ""), ""))
        pl = levels.content if levels is not None else None
        creators = room_creators(create.pdu if create is not None else None, version)
        needed = max(action_level(pl, "redact", version),
                     event_level(pl, "m.room.redaction", False, version))
        powers = {u: user_level(pl, u, creators, version) for u in joined
                  if self._is_local(u)}
        able = sorted((u for u, level in powers.items() if level >= needed),
                      key=lambda u: (u != admin, -powers[u], u))
        return senders + [u for u in able if u not in senders]
