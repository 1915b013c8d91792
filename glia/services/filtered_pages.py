"""Pages of a room's timeline through a client's event filter (``/messages``,
``/context``).

The literal parts of a filter (exact types and senders, ``contains_url``) become SQL
conditions; patterns with ``*`` wildcards can't, since SQL ``LIKE`` backtracks and
matches ``_``/``%`` too, so events are also checked by the filter's own linear-time
matcher (``protocol.filters``), reading on in batches until the page is full. A filter
that rejects almost everything stops after :data:`SCAN_FACTOR` times the page size and
answers the events found so far with a token to continue from (``more`` is true).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from glia.protocol.filters import EventFilter, is_literal
from glia.storage import Storage
from glia.storage.events import StoredEvent

#: How many events (times the page size, at least :data:`MIN_SCAN`) one request reads
#: at most looking for events that pass a wildcard filter.
SCAN_FACTOR = 10
MIN_SCAN = 1000


@dataclass(frozen=True)
class FilteredPage:
    #: The events that pass the filter, in the direction of travel.
    events: list[StoredEvent]
    #: The last event read (passing or not): the next page starts after it.
    last: StoredEvent | None
    #: Whether the room may hold more events in this direction.
    more: bool


def sql_criteria(event_filter: EventFilter) -> dict[str, Any]:
    """The filter's conditions the timeline query can apply exactly: literal patterns
    only (a list with a wildcard in it is left to :meth:`EventFilter.allows`)."""
    def literal(values: tuple[str, ...] | None) -> list[str] | None:
        return list(values) if values and all(is_literal(v) for v in values) else None

    return dict(types=literal(event_filter.types),
                not_types=[v for v in event_filter.not_types if is_literal(v)] or None,
                senders=literal(event_filter.senders),
                not_senders=[v for v in event_filter.not_senders if is_literal(v)] or None,
                contains_url=event_filter.contains_url)


def passes(event_filter: EventFilter, event: StoredEvent) -> bool:
    return event_filter.allows({"type": event.type, "sender": event.sender,
                                "room_id": event.room_id, "content": event.content})


async def filtered_page(storage: Storage, room_id: str, event_filter: EventFilter, *,
                        backwards: bool, from_pos: tuple[int, int],
                        to_pos: tuple[int, int] | None, limit: int) -> FilteredPage:
    """Up to ``limit`` events from ``from_pos`` (a gap, see ``storage.events.page``)
    that pass ``event_filter``."""
    if limit <= 0 or not event_filter.allows_room(room_id):
        return FilteredPage([], None, False)
    criteria = sql_criteria(event_filter)
    budget = max(limit * SCAN_FACTOR, MIN_SCAN)
    found: list[StoredEvent] = []
    last: StoredEvent | None = None
    position = from_pos
    while budget > 0:
        batch = await storage.events.page(room_id, backwards=backwards, from_pos=position,
                                          to_pos=to_pos, limit=min(limit, budget),
                                          **criteria)
        for event in batch:
            last = event
            if passes(event_filter, event):
                found.append(event)
                if len(found) == limit:
                    return FilteredPage(found, last, True)
        if len(batch) < min(limit, budget):
            return FilteredPage(found, last, False)
        budget -= len(batch)
        assert last is not None
        position = (last.depth, last.stream_ordering - 1 if backwards
                    else last.stream_ordering)
    return FilteredPage(found, last, True)
