"""Catching up on a gap deeper than one ``get_missing_events`` answer: after downtime,
or when a server missed part of a conversation, the event that arrives names prev events
many events back.

One answer brings the :data:`gaps.MISSING_LIMIT` events nearest the received event;
while the oldest of those still name prev events that are neither here nor fetched, the
origin is asked again from them (``latest_events``), until the gap closes, the origin has
nothing more, :data:`MAX_CATCH_UP` events were fetched or :data:`CATCH_UP_SECONDS` have
passed. What was fetched is handed back oldest first, to be checked and written like
received events. A gap still open after that is left to backfill: the oldest fetched
event's unknown prev events are the gap a client's ``/messages`` fills on demand
(``backfill.py`` finds it there, nothing needs recording).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from glia.protocol.room_versions import RoomVersion
from glia.services.federation.gaps import FETCH_SECONDS, GapFiller

__all__ = ["CATCH_UP_SECONDS", "MAX_CATCH_UP", "fetch_missing"]

logger = logging.getLogger(__name__)

#: Most events fetched to close one gap.
MAX_CATCH_UP = 300
#: Most time spent fetching one gap, in all.
CATCH_UP_SECONDS = 30.0

Pdu = dict[str, Any]


async def fetch_missing(gaps: GapFiller, origin: str, room_id: str, version: RoomVersion,
                        event_id: str) -> list[tuple[str, Pdu]]:
    """The checked events ``origin`` serves between our forward extremities and
    ``event_id`` (not included), oldest first; [] when it serves none."""
    fetched: dict[str, tuple[int, int, Pdu]] = {}
    latest = [event_id]
    deadline = time.monotonic() + CATCH_UP_SECONDS
    rounds = 0
    while latest and len(fetched) < MAX_CATCH_UP:
        left = deadline - time.monotonic()
        if left <= 0:
            logger.info("catching up before %s from %s took too long", event_id, origin)
            break
        answer = await gaps.missing(origin, room_id, version, latest,
                                    min(FETCH_SECONDS, left))
        new = [(i, e) for i, e in answer if i not in fetched and i != event_id]
        if not new:
            break
        rounds += 1
        for i, e in new[:MAX_CATCH_UP - len(fetched)]:
            depth = e.get("depth")
            fetched[i] = (depth if isinstance(depth, int) else 0, -rounds, e)
        # Next round: from the fetched events whose prevs are still unknown.
        latest = [i for i, e in new if i in fetched
                  and [p for p in await gaps.unknown_prevs(e) if p not in fetched]]
    if latest and fetched:
        logger.info("the gap before %s from %s stays open after %d events; /messages "
                    "backfills it", event_id, origin, len(fetched))
    ordered = sorted(fetched.items(), key=lambda item: (item[1][0], item[1][1]))
    return [(i, e) for i, (_, _, e) in ordered]
