"""Filling a gap before a received event: the events its ``prev_events`` name that we
do not have, asked from the server that sent it
(``POST /_matrix/federation/v1/get_missing_events/{roomId}``).

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

from glia.errors import MatrixError
from glia.ids import InvalidId, server_name_of
from glia.protocol.events import prev_event_ids
from glia.protocol.room_versions import RoomVersion
from glia.services.federation.client import FederationClient, FederationError
from glia.services.federation.pdus import BadPdu, PduChecks
from glia.storage import Storage

__all__ = ["FETCH_SECONDS", "MISSING_LIMIT", "GapFiller"]

logger = logging.getLogger(__name__)

#: How many missing events one fetch asks for (and keeps at most).
MISSING_LIMIT = 10
#: How long one fetch may take in all.
FETCH_SECONDS = 10.0

Pdu = dict[str, Any]


class GapFiller:
    def __init__(self, server_name: str, storage: Storage, client: FederationClient,
                 checks: PduChecks) -> None:
        self._server_name = server_name
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
                      event_id: str) -> list[tuple[str, Pdu]]:
        """The checked events between our forward extremities and ``event_id``, oldest
        first, as ``origin`` serves them; [] when the fetch fails (logged)."""
        earliest = await self._storage.rooms.forward_extremities(room_id)
        body = {"earliest_events": earliest[:100], "latest_events": [event_id],
                "limit": MISSING_LIMIT, "min_depth": 0}
        try:
            answer = await asyncio.wait_for(self._client.request(
                origin, "POST",
                f"/_matrix/federation/v1/get_missing_events/{quote(room_id, safe='')}",
                content=body), FETCH_SECONDS)
        except (FederationError, MatrixError, ValueError, TimeoutError) as e:
            logger.info("could not fetch the events missing before %s from %s: %s",
                        event_id, origin, e or type(e).__name__)
            return []
        raw = answer.body.get("events") if isinstance(answer.body, dict) else None
        if not isinstance(raw, list):
            logger.info("%s answered get_missing_events for %s without a list of events",
                        origin, event_id)
            return []
        return await self._checked(origin, room_id, version, raw[:MISSING_LIMIT])

    async def _checked(self, origin: str, room_id: str, version: RoomVersion,
                       raw: Sequence[Any]) -> list[tuple[str, Pdu]]:
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
