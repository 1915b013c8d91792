"""Filling a gap before a received event: the events its ``prev_events`` name that we
do not have, asked from the server that sent it
(``POST /_matrix/federation/v1/get_missing_events/{roomId}``); and the auth events it
names that we do not have (``GET /_matrix/federation/v1/event/{eventId}`` each), kept as
outliers: usable to authorise events, never in the timeline nor the room's state.

The fetch is bounded (at most :data:`MISSING_LIMIT` events, :data:`FETCH_SECONDS` in
all, the client's cap on the answer's size), and every returned event is checked like
any received PDU (format, signatures, content hash) before the caller authorises and
persists it; anything else that comes back is dropped. A peer that fails, answers slowly
or with garbage only costs its own transaction the fetch: the caller then accepts the
event as a new forward extremity, as without a gap fill.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from glia.clock import Clock
from glia.errors import MatrixError
from glia.ids import InvalidId, server_name_of
from glia.protocol.events import auth_event_ids, prev_event_ids
from glia.protocol.room_versions import RoomVersion
from glia.services.federation.client import FederationClient, FederationError
from glia.services.federation.pdus import BadPdu, PduChecks, authorise
from glia.storage import Storage

__all__ = ["FETCH_SECONDS", "MAX_AUTH_FETCH", "MISSING_LIMIT", "GapFiller"]

logger = logging.getLogger(__name__)

#: How many missing events one fetch asks for (and keeps at most).
MISSING_LIMIT = 10
#: How long one fetch may take in all.
FETCH_SECONDS = 10.0
#: How many unknown auth events of one event are fetched at most (the auth rules select
#: at most a handful; more is a hostile event).
MAX_AUTH_FETCH = 10

Pdu = dict[str, Any]


class GapFiller:
    def __init__(self, server_name: str, storage: Storage, client: FederationClient,
                 checks: PduChecks, clock: Clock) -> None:
        self._server_name = server_name
        self._clock = clock
        self._storage = storage
        self._client = client
        self._checks = checks

    async def unknown_prevs(self, event: Mapping[str, Any]) -> list[str]:
        """The event's prev_events that are neither stored nor soft-failed here."""
        prevs = prev_event_ids(event)
        found = await self._storage.events.get_many(prevs)
        return [p for p in prevs if p not in found
                and not await self._storage.federation_queue.is_soft_failed(p)]

    async def missing(self, origin: str, room_id: str, version: RoomVersion,
                      latest: Sequence[str], seconds: float = FETCH_SECONDS
                      ) -> list[tuple[str, Pdu]]:
        """The checked events between our forward extremities and the ``latest`` events
        (the nearest :data:`MISSING_LIMIT` of them), oldest first, as ``origin`` serves
        them; [] when the fetch fails (logged). ``catch_up.py`` asks again from the
        oldest of them while the gap stays open."""
        earliest = await self._storage.rooms.forward_extremities(room_id)
        body = {"earliest_events": earliest[:100], "latest_events": list(latest[:100]),
                "limit": MISSING_LIMIT, "min_depth": 0}
        try:
            answer = await asyncio.wait_for(self._client.request(
                origin, "POST",
                f"/_matrix/federation/v1/get_missing_events/{quote(room_id, safe='')}",
                content=body), seconds)
        except (FederationError, MatrixError, ValueError, TimeoutError) as e:
            logger.info("could not fetch the events missing before %s from %s: %s",
                        ", ".join(latest), origin, e or type(e).__name__)
            return []
        raw = answer.body.get("events") if isinstance(answer.body, dict) else None
        if not isinstance(raw, list):
            logger.info("%s answered get_missing_events for %s without a list of events",
                        origin, ", ".join(latest))
            return []
        return await self.checked_events(origin, room_id, version, raw[:MISSING_LIMIT])

    async def auth_events(self, room_id: str, ids: Sequence[str]) -> dict[str, Pdu]:
        """The PDUs of ``ids`` we have: stored events and the room's outliers."""
        wanted = list(dict.fromkeys(ids))
        found = {i: e.pdu for i, e in (await self._storage.events.get_many(wanted)).items()
                 if e.room_id == room_id}
        rest = [i for i in wanted if i not in found]
        found.update(await self._storage.federation_queue.outliers(room_id, rest))
        return found

    async def fetch_auth_events(self, origin: str, room_id: str, version: RoomVersion,
                                ids: Sequence[str], create: Mapping[str, Any] | None
                                ) -> None:
        """Fetch the unknown auth events ``ids`` from ``origin``, check each (format,
        signatures, hash, the ID asked for, its own auth events — known here or among
        those fetched) and keep those that pass as outliers, oldest first."""
        fetched: list[tuple[int, str, Pdu]] = []
        try:
            async with asyncio.timeout(FETCH_SECONDS):
                for wanted in list(dict.fromkeys(ids))[:MAX_AUTH_FETCH]:
                    event = await self._fetch_one(origin, room_id, version, wanted)
                    if event is not None:
                        depth = event.get("depth")
                        fetched.append((depth if isinstance(depth, int) else 0, wanted,
                                        event))
        except TimeoutError:
            logger.info("fetching auth events from %s took too long", origin)
        fetched.sort(key=lambda item: item[0])
        for _, event_id, event in fetched:
            own = await self.auth_events(room_id, auth_event_ids(event))
            try:
                if len(own) != len(set(auth_event_ids(event))):
                    raise BadPdu("its own auth events are unknown here")
                authorise(event, own.values(), version, create)
            except BadPdu as e:
                logger.info("dropped auth event %s from %s: %s", event_id, origin, e)
                continue
            await self._storage.federation_queue.add_outlier(
                event_id, room_id, origin, event, self._clock.now_ms())

    async def _fetch_one(self, origin: str, room_id: str, version: RoomVersion,
                         event_id: str) -> Pdu | None:
        try:
            answer = await self._client.request(
                origin, "GET", f"/_matrix/federation/v1/event/{quote(event_id, safe='')}")
        except (FederationError, MatrixError, ValueError) as e:
            logger.info("could not fetch auth event %s from %s: %s", event_id, origin, e)
            return None
        pdus = answer.body.get("pdus") if isinstance(answer.body, dict) else None
        pdu = pdus[0] if isinstance(pdus, list) and pdus else None
        if not isinstance(pdu, Mapping) or pdu.get("room_id") != room_id:
            logger.info("%s answered no event of the room for %s", origin, event_id)
            return None
        try:
            checked_id, event = await self._checks.checked(pdu, version)
        except BadPdu as e:
            logger.info("auth event %s from %s refused: %s", event_id, origin, e)
            return None
        if checked_id != event_id:
            logger.info("%s answered another event for %s", origin, event_id)
            return None
        return event

    async def checked_events(self, origin: str, room_id: str, version: RoomVersion,
                             raw: Sequence[Any]) -> list[tuple[str, Pdu]]:
        """The events of ``raw`` (an answer of ``origin``) that pass the checks on
        receipt, oldest first by depth, each once: of the room, not one of our users'
        (never taken from another server), format, signatures, content hash (redacted on
        a mismatch); anything else is dropped (logged)."""
        out: list[tuple[int, int, str, Pdu]] = []
        for index, pdu in enumerate(raw):
            if not isinstance(pdu, Mapping) or pdu.get("room_id") != room_id:
                continue
            if _server(pdu.get("sender")) == self._server_name:
                continue  # never take our own users' events from another server
            try:
                event_id, event = await self._checks.checked(pdu, version)
            except BadPdu as e:
                logger.info("dropped a missing event from %s: %s", origin, e)
                continue
            depth = event.get("depth")
            out.append((depth if isinstance(depth, int) else 0, index, event_id, event))
        out.sort(key=lambda item: (item[0], item[1]))
        seen: set[str] = set()
        result = []
        for _, _, event_id, event in out:
            if event_id not in seen:
                seen.add(event_id)
                result.append((event_id, event))
        return result


def _server(identifier: object) -> str | None:
    try:
        return server_name_of(identifier) if isinstance(identifier, str) else None
    except InvalidId:
        return None
