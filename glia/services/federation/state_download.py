"""State repair from a chosen server (Dendrite's admin ``downloadState``): ask that
server for the room's state at our latest event, fetch the events of it we lack, check
them, and make our current state agree where it differs.

The state is asked as IDs (``GET /state_ids/{roomId}?event_id=``) at our forward
extremities, newest first, until the server knows one of them; our event itself is
added to the state before it when it is a state event. Each state event we do not hold
is fetched (``GET /event/{eventId}``, bounded by :data:`MAX_FETCH` and
:data:`DOWNLOAD_SECONDS`) and passes the checks on receipt (``gaps.py``: room, format,
signatures, content hash) and authorisation against its own auth events (known here,
or fetched and kept as outliers, ``backfill.authorisation_problem``); one that fails
is left out and its key is not changed. It is *not* checked against our current state:
that is what is being repaired. Repairs go through the event writer under the room's
lock: an event we did not have is written as a received state event (so clients see
it in ``/sync``), one we have becomes current for its key. Keys we hold that the server
does not name are left as they are (the server may simply lack them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from glia import errors
from glia.errors import MatrixError
from glia.ids import is_valid_room_id, is_valid_server_name
from glia.protocol.events import state_key_of
from glia.protocol.room_versions import RoomVersion, get_room_version
from glia.services.events import EventsService
from glia.services.federation.backfill import authorisation_problem, room_create_event
from glia.services.federation.client import FederationClient, FederationError
from glia.services.federation.gaps import GapFiller
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage, Stores
from glia.storage.events import StoredEvent

__all__ = ["DOWNLOAD_SECONDS", "MAX_FETCH", "StateDownload", "StateRepair"]

logger = logging.getLogger(__name__)

#: Most state events fetched for one repair.
MAX_FETCH = 1000
#: Most time one repair spends asking the server, in all.
DOWNLOAD_SECONDS = 60.0
#: Forward extremities tried as the event to ask the state at.
MAX_EXTREMITIES = 5
#: Event IDs per look-up (a big room's state has thousands).
BATCH = 500

Pdu = dict[str, Any]
StateKey = tuple[str, str]


@dataclass
class StateRepair:
    """What a repair changed (logged; Dendrite answers ``{}``)."""

    changed: list[StateKey] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class StateDownload:
    def __init__(self, server_name: str, storage: Storage, events: EventsService,
                 client: FederationClient, gaps: GapFiller) -> None:
        self._server_name = server_name
        self._storage = storage
        self._events = events
        self._client = client
        self._gaps = gaps

    async def download(self, uow: UnitOfWork, server: str, room_id: str) -> StateRepair:
        """Repair ``room_id``'s current state from ``server``'s (the audit row commits
        with the first event written, else on its own)."""
        version = await self._room(room_id)
        if not is_valid_server_name(server):
            raise errors.invalid_param(f"{server} is not a legal server name")
        if server == self._server_name:
            raise errors.invalid_param("The state must come from another server")
        deadline = time.monotonic() + DOWNLOAD_SECONDS
        at, remote_ids = await self._remote_state(server, room_id, deadline)
        # What we hold was checked when it came (received events, outliers).
        known: dict[str, Pdu] = {}
        for i in range(0, len(remote_ids), BATCH):
            known.update(await self._gaps.auth_events(room_id, remote_ids[i:i + BATCH]))
        repair = StateRepair()
        known.update(await self._fetch(server, room_id, version,
                                       [i for i in remote_ids if i not in known],
                                       deadline, repair))
        wanted: dict[StateKey, tuple[str, Pdu]] = {}
        for event_id in remote_ids:
            pdu = known.get(event_id)
            key = state_key_of(pdu) if pdu is not None else None
            if pdu is None or key is None:
                if event_id not in repair.refused:
                    repair.refused.append(event_id)
                continue
            if key in wanted:
                raise MatrixError(502, "M_UNKNOWN",
                                  f"{server} answered a state that lists {key} twice")
            wanted[key] = (event_id, pdu)
        if at.state_key is not None:
            wanted[(at.type, at.state_key)] = (at.event_id, at.pdu)

        async def write(tx: Stores) -> list[StoredEvent]:
            return await self._apply(tx, room_id, version, wanted, repair)

        with uow.event_writes():
            await self._events.write_received(room_id, version, write)
        logger.info("downloadState of %s from %s at %s: changed %s, refused %s", room_id,
                    server, at.event_id, repair.changed, repair.refused)
        return repair

    async def _room(self, room_id: str) -> RoomVersion:
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a legal room ID")
        room = await self._storage.rooms.get(room_id)
        version = get_room_version(room.room_version) if room is not None else None
        if version is None:
            raise errors.not_found(f"Unknown room {room_id}")
        return version

    async def _remote_state(self, server: str, room_id: str, deadline: float
                            ) -> tuple[StoredEvent, list[str]]:
        """(our event the state is asked at, the IDs of the state before it)."""
        extremities = await self._storage.rooms.forward_extremities(room_id)
        ours = await self._storage.events.get_many(extremities)
        newest = sorted(ours.values(), key=lambda e: (e.depth, e.stream_ordering),
                        reverse=True)[:MAX_EXTREMITIES]
        last: str = "the room has no events here"
        for event in newest:
            try:
                answer = await asyncio.wait_for(self._client.request(
                    server, "GET",
                    f"/_matrix/federation/v1/state_ids/{quote(room_id, safe='')}"
                    f"?event_id={quote(event.event_id, safe='')}"),
                    max(deadline - time.monotonic(), 0.1))
            except (FederationError, MatrixError, ValueError, TimeoutError) as e:
                last = str(e) or type(e).__name__
                continue
            ids = answer.body.get("pdu_ids") if isinstance(answer.body, dict) else None
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                last = "it answered no list of state event IDs"
                continue
            return event, list(dict.fromkeys(ids))
        raise MatrixError(502, "M_UNKNOWN", f"{server} gave no state of {room_id}: {last}")

    async def _fetch(self, server: str, room_id: str, version: RoomVersion,
                     ids: Sequence[str], deadline: float, repair: StateRepair
                     ) -> dict[str, Pdu]:
        """Fetch and check the state events we lack, oldest first by depth."""
        raw: list[Any] = []
        for event_id in list(dict.fromkeys(ids))[:MAX_FETCH]:
            left = deadline - time.monotonic()
            if left <= 0:
                logger.info("downloadState of %s from %s took too long", room_id, server)
                break
            try:
                answer = await asyncio.wait_for(self._client.request(
                    server, "GET",
                    f"/_matrix/federation/v1/event/{quote(event_id, safe='')}"), left)
            except (FederationError, MatrixError, ValueError, TimeoutError) as e:
                logger.info("downloadState: could not fetch %s from %s: %s", event_id,
                            server, e or type(e).__name__)
                continue
            pdus = answer.body.get("pdus") if isinstance(answer.body, dict) else None
            if isinstance(pdus, list) and pdus:
                raw.append(pdus[0])
        create = await room_create_event(self._gaps, room_id, version)
        checked = await self._gaps.checked_events(server, room_id, version, raw)
        batch = dict(checked)
        asked = set(ids)
        accepted: dict[str, Pdu] = {}
        for event_id, pdu in checked:
            if event_id not in asked:
                continue  # the server answered an event we did not ask for
            problem = await authorisation_problem(
                self._gaps, server, room_id, version, pdu, batch, create,
                fetch=time.monotonic() < deadline)
            if problem is None:
                accepted[event_id] = pdu
            else:
                logger.info("downloadState: %s from %s refused: %s", event_id, server,
                            problem)
                repair.refused.append(event_id)
                batch.pop(event_id, None)
        return accepted

    async def _apply(self, tx: Stores, room_id: str, version: RoomVersion,
                     wanted: Mapping[StateKey, tuple[str, Pdu]], repair: StateRepair
                     ) -> list[StoredEvent]:
        """Under the room's lock: make each wanted event current for its key where ours
        differs. Returns the events written (for the event writer's subscribers)."""
        current = await tx.state.current_ids(room_id)
        extremities = await tx.rooms.forward_extremities(room_id)
        written: list[StoredEvent] = []
        for key, (event_id, pdu) in sorted(wanted.items(),
                                           key=lambda kv: int(kv[1][1]["depth"])):
            if current.get(key) == event_id:
                continue
            stored = await tx.events.get(event_id)
            if stored is None:
                written.append(await self._events.persist_received(
                    tx, room_id, version, pdu, event_id, in_state=True,
                    extremities=extremities))
            else:
                membership = pdu.get("content", {}).get("membership") \
                    if key[0] == "m.room.member" else None
                await tx.state.set(room_id, key[0], key[1], event_id,
                                   membership if isinstance(membership, str) else None,
                                   await tx.next_stream_position())
            repair.changed.append(key)
        return written
