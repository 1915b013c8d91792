"""Backfill: a room's history that this server never received (from before its first
user joined, or a gap left open after downtime), asked from another server in the room
(``GET /_matrix/federation/v1/backfill/{roomId}?v=…&limit=``) when a client pages
``/messages`` back to it.

**Where a gap is.** A backwards page is checked for events whose ``prev_events`` are
not stored here: those prev events are the gap (the "backward extremities"). Nothing
needs recording when the gap appears: a remote join leaves its join event's prevs
unknown, an unfilled catch-up leaves the oldest fetched event's prevs unknown, and both
are found when a page reaches them. In a room whose history is all here, the check is one
look-up of the last page event's prevs.

**Ordering.** Backfilled events keep their own ``depth`` (the topological order
``/messages`` pages by, so they fall exactly where they belong, before the events that
name them) and get a *negative* stream ordering, ``-n`` for the n-th position of the
``backfill`` counter. Every ``/sync`` window and stream read looks at positions above
``-1``, so a backfilled event never shows as new in ``/sync``, never wakes anyone and
never moves a stream token; within one depth, events backfilled later (further back)
sort first, as they should. They are written straight to the event store, not through
the event pipeline: no current state, forward extremity, push, search entry or outgoing
federation comes of them. History visibility judges them under the earliest
``m.room.history_visibility`` this server knows (``services.visibility``).

**Trust.** Each returned event is checked like a received one (``gaps.py`` /
``pdus.py``: the room, not one of our users' events, format, signatures, content hash —
a mismatch keeps it redacted — and authorisation against its own auth events, known
here, among the answer, or fetched as outliers); anything else is dropped. Redactions
among them apply only to events of the redaction's own server.

**Bounds.** At most :data:`BACKFILL_LIMIT` events per request, :data:`MAX_SERVERS`
servers and :data:`BACKFILL_SECONDS` per page; a server that fails, is slow or answers
garbage only costs the page its history (the client gets what is stored), and the gap
it could not fill is not asked again for :data:`RETRY_AFTER_MS`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from glia.clock import Clock
from glia.errors import MatrixError
from glia.ids import InvalidId, server_name_of
from glia.protocol.events import auth_event_ids, prev_event_ids, redacts_of
from glia.protocol.room_versions import RoomVersion, get_room_version
from glia.services.federation.client import FederationClient, FederationError
from glia.services.federation.gaps import GapFiller
from glia.services.federation.pdus import BadPdu, authorise, create_event_id
from glia.services.redaction import apply_redaction
from glia.storage import Storage, Stores
from glia.storage.events import NewEvent, StoredEvent

__all__ = ["BACKFILL_LIMIT", "BACKFILL_SECONDS", "BACKFILL_STREAM", "Backfiller",
           "authorisation_problem", "room_create_event"]

logger = logging.getLogger(__name__)

#: Events asked of one server per request (and kept at most from its answer).
BACKFILL_LIMIT = 50
#: Servers tried for one page.
MAX_SERVERS = 3
#: Time one page may spend asking other servers, in all.
BACKFILL_SECONDS = 10.0
#: How long a gap that could not be filled is left alone.
RETRY_AFTER_MS = 60_000
#: Gaps remembered as unfillable (the oldest are forgotten first).
MAX_REMEMBERED = 10_000
#: The counter whose positions, negated, order backfilled events.
BACKFILL_STREAM = "backfill"

Pdu = dict[str, Any]


class Backfiller:
    def __init__(self, server_name: str, storage: Storage, client: FederationClient,
                 gaps: GapFiller, clock: Clock) -> None:
        self._server_name = server_name
        self._storage = storage
        self._client = client
        self._gaps = gaps
        self._clock = clock
        #: Missing event ID → when it may be asked for again (ms).
        self._unfillable: OrderedDict[str, int] = OrderedDict()

    async def before_page(self, room_id: str, page: Sequence[StoredEvent]) -> bool:
        """Fill the gaps behind the events of a backwards ``/messages`` page from other
        servers; True if anything was stored (the caller reads the page again)."""
        gaps = await self._gaps_behind(room_id, page)
        now = self._clock.now_ms()
        missing = [m for m, _ in gaps if self._unfillable.get(m, 0) <= now]
        if not missing:
            return False
        room = await self._storage.rooms.get(room_id)
        version = get_room_version(room.room_version) if room is not None else None
        if version is None:
            return False
        stored = 0
        deadline = time.monotonic() + BACKFILL_SECONDS
        for server in await self._servers(room_id, [e for m, e in gaps if m in missing]):
            left = deadline - time.monotonic()
            if left <= 0:
                logger.info("backfilling %s took too long", room_id)
                break
            pdus = await self._ask(server, room_id, missing, left)
            try:
                stored += await self._store(server, room_id, version, pdus, deadline)
            except Exception:  # a bug here must not cost the client its page
                logger.exception("backfilling %s from %s failed", room_id, server)
            found = await self._storage.events.get_many(missing)
            missing = [m for m in missing if m not in found]
            if not missing:
                break
        for event_id in missing:
            self._remember_unfillable(event_id, now + RETRY_AFTER_MS)
        return stored > 0

    async def _gaps_behind(self, room_id: str, page: Sequence[StoredEvent]
                           ) -> list[tuple[str, StoredEvent]]:
        """(missing prev event ID, the page event naming it): prevs neither stored nor
        soft-failed here. A prev that is another page event is known: in a linear
        history only the last event's prevs are looked up."""
        in_page = {e.event_id for e in page}
        named: dict[str, StoredEvent] = {}
        for event in page:
            for prev in prev_event_ids(event.pdu):
                if prev not in in_page:
                    named.setdefault(prev, event)
        if not named:
            return []
        found = await self._storage.events.get_many(list(named))
        return [(prev, event) for prev, event in named.items() if prev not in found
                and not await self._storage.federation_queue.is_soft_failed(prev)]

    async def _servers(self, room_id: str, naming: Sequence[StoredEvent]) -> list[str]:
        """Whom to ask: the servers of the events that name the gap (they had what came
        before), then the room's other servers with a joined member."""
        members = await self._storage.state.members_at(room_id, None, ["join"])
        in_room = {s for s in (_server(m.user_id) for m in members) if s is not None}
        candidates = [_server(e.sender) for e in naming] + sorted(in_room)
        servers = [s for s in dict.fromkeys(candidates)
                   if s is not None and s != self._server_name]
        return servers[:MAX_SERVERS]

    async def _ask(self, server: str, room_id: str, missing: Sequence[str],
                   seconds: float) -> list[Any]:
        """The PDUs ``server`` answers for the gap; [] when it fails (logged)."""
        query = urlencode([*(("v", m) for m in missing[:100]),
                           ("limit", str(BACKFILL_LIMIT))])
        path = f"/_matrix/federation/v1/backfill/{quote(room_id, safe='')}?{query}"
        try:
            answer = await asyncio.wait_for(
                self._client.request(server, "GET", path), seconds)
        except (FederationError, MatrixError, ValueError, TimeoutError) as e:
            logger.info("could not backfill %s from %s: %s", room_id, server,
                        e or type(e).__name__)
            return []
        pdus = answer.body.get("pdus") if isinstance(answer.body, dict) else None
        if not isinstance(pdus, list):
            logger.info("%s answered backfill of %s without a list of PDUs", server,
                        room_id)
            return []
        return pdus[:BACKFILL_LIMIT]

    async def _store(self, server: str, room_id: str, version: RoomVersion,
                     raw: Sequence[Any], deadline: float) -> int:
        """Check the answer's events and store those that pass as history; how many.
        Past ``deadline`` no more auth events are fetched (their events are dropped)."""
        if not raw:
            return 0
        checked = await self._gaps.checked_events(server, room_id, version, raw)
        batch = dict(checked)
        create = await room_create_event(self._gaps, room_id, version)
        accepted: list[tuple[str, Pdu]] = []
        for event_id, event in checked:  # oldest first: auth events before their users
            problem = await authorisation_problem(
                self._gaps, server, room_id, version, event, batch, create,
                fetch=time.monotonic() < deadline)
            if problem is not None:
                logger.info("dropped backfilled %s from %s: %s", event_id, server, problem)
                batch.pop(event_id, None)
                continue
            accepted.append((event_id, event))
        if not accepted:
            return 0
        async with self._storage.transaction() as tx:
            await tx.rooms.lock(room_id)
            return await self._write(tx, room_id, version, accepted)

    async def _write(self, tx: Stores, room_id: str, version: RoomVersion,
                     accepted: Sequence[tuple[str, Pdu]]) -> int:
        """Store the events newest first, so that those further back take the lower
        (more negative) positions; then apply redactions among them."""
        existing = await tx.events.get_many([i for i, _ in accepted])
        written: list[StoredEvent] = []
        for event_id, pdu in reversed(accepted):
            if event_id in existing:
                continue
            stream = -(await tx.next_stream_position(BACKFILL_STREAM) + 1)
            relates = pdu.get("content", {}).get("m.relates_to")
            relates_to = rel_type = None
            if isinstance(relates, Mapping) and isinstance(relates.get("event_id"), str) \
                    and isinstance(relates.get("rel_type"), str):
                relates_to, rel_type = relates["event_id"], relates["rel_type"]
            await tx.events.insert(NewEvent(event_id, room_id, stream, int(pdu["depth"]),
                                            pdu, {}, relates_to, rel_type, None, None))
            written.append(StoredEvent(event_id, room_id, stream, int(pdu["depth"]), pdu,
                                       {}, None, None, None))
        for stored in written:
            target = redacts_of(stored.pdu, version) \
                if stored.type == "m.room.redaction" else None
            if target is None:
                continue
            original = await tx.events.get(target)
            if original is not None and _server(original.sender) == _server(stored.sender):
                await apply_redaction(tx, version, stored, target)
        return len(written)

    def _remember_unfillable(self, event_id: str, retry_at: int) -> None:
        self._unfillable[event_id] = retry_at
        self._unfillable.move_to_end(event_id)
        while len(self._unfillable) > MAX_REMEMBERED:
            self._unfillable.popitem(last=False)


def _server(identifier: object) -> str | None:
    try:
        return server_name_of(identifier) if isinstance(identifier, str) else None
    except InvalidId:
        return None


async def authorisation_problem(gaps: GapFiller, server: str, room_id: str,
                                version: RoomVersion, event: Mapping[str, Any],
                                batch: Mapping[str, Pdu],
                                create: Mapping[str, Any] | None, *, fetch: bool = True
                                ) -> str | None:
    """Why ``event`` (fetched from ``server``) fails the auth rules against its own auth
    events — found in ``batch`` (events fetched with it), stored here, among the room's
    outliers, or else (with ``fetch``) fetched from ``server`` and kept as outliers — or
    None."""
    auth_ids = list(dict.fromkeys(auth_event_ids(event)))
    known = {a: batch[a] for a in auth_ids if a in batch}
    known.update(await gaps.auth_events(room_id, [a for a in auth_ids if a not in known]))
    if len(known) != len(auth_ids) and fetch:
        await gaps.fetch_auth_events(server, room_id, version,
                                     [a for a in auth_ids if a not in known], create)
        known.update(await gaps.auth_events(room_id,
                                            [a for a in auth_ids if a not in known]))
    if len(known) != len(auth_ids):
        return "it names auth events this server does not know"
    try:
        authorise(event, known.values(), version, create)
    except BadPdu as e:
        return str(e)
    return None


async def room_create_event(gaps: GapFiller, room_id: str, version: RoomVersion
                            ) -> Mapping[str, Any] | None:
    """The room's create event where its events never list it among their auth events
    (v12, whose room ID is the create event's hash); None otherwise."""
    if not version.room_id_is_create_hash:
        return None
    create_id = create_event_id(room_id, version, {})
    found = await gaps.auth_events(room_id, [create_id] if create_id else [])
    return found.get(create_id or "")
