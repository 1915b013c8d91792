"""Event relationships: ``/relations``, ``/threads`` and bundled aggregations.

Relations are indexed at write time (``events.relates_to``/``rel_type``), so a page of
children, a page of threads or the aggregations of a timeline page are each a couple of
indexed queries, however long the thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.clock import now_ms
from glia.ids import is_valid_event_id
from glia.services.event_format import ClientEvent
from glia.services.events import client_event
from glia.services.tokens import Position, parse_position
from glia.services.visibility import (
    Visibility,
    as_served,
    erased_for,
    redacted,
    room_visibility,
)
from glia.storage import Storage
from glia.storage.events import StoredEvent

#: How many levels of relations ``recurse=true`` follows (the spec asks for at least 3).
RECURSION_DEPTH = 3
MAX_LIMIT = 1000

Viewer = tuple[str, str]


class RelationsPage(msgspec.Struct, kw_only=True):
    """``/relations`` and ``/threads``: events in the client format, and the tokens
    to page on (there only when there is more that way)."""

    chunk: list[ClientEvent]
    next_batch: str | UnsetType = UNSET
    prev_batch: str | UnsetType = UNSET
    #: How deep ``recurse`` looked (there only when the client asked about recursion).
    recursion_depth: int | UnsetType = UNSET


class Aggregator:
    """Adds the spec's bundled aggregations (``unsigned["m.relations"]``) to events."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def client_events(self, events: Sequence[StoredEvent], viewer: Viewer,
                            visibility: Visibility, now: int | None = None
                            ) -> list[ClientEvent]:
        """The client format of ``events`` with their thread summaries and latest edits,
        as ``visibility``'s reader is served them (erased senders' events redacted)."""
        now = now_ms() if now is None else now
        events = await as_served(self._storage, visibility, events)
        bundles = await self.bundles(events, viewer, visibility, now)
        return [client_event(e, viewer, now, relations=bundles.get(e.event_id))
                for e in events]

    async def bundles(self, events: Sequence[StoredEvent], viewer: Viewer,
                      visibility: Visibility, now: int) -> dict[str, dict[str, Any]]:
        by_room: dict[str, list[StoredEvent]] = {}
        for event in events:
            if event.redacted_by is None:
                by_room.setdefault(event.room_id, []).append(event)
        out: dict[str, dict[str, Any]] = {}
        for room_id, room_events in by_room.items():
            ids = [e.event_id for e in room_events]
            threads = await self._storage.events.thread_summaries(room_id, ids, viewer[0])
            edits = await self._storage.events.latest_edits(room_id, ids)
            references = await self._storage.events.references(room_id, ids)
            # Only the original sender may edit, and state events are not editable.
            edit_streams = {
                e.event_id: edits[(e.event_id, e.sender, e.type)] for e in room_events
                if e.state_key is None and (e.event_id, e.sender, e.type) in edits}
            found = await self._storage.events.by_streams(
                [latest for _, latest, _ in threads.values()] + list(edit_streams.values()))
            hidden = await erased_for(self._storage, visibility, list(found.values()))
            found = dict(zip(found, await redacted(self._storage, list(found.values()),
                                                   hidden), strict=True))
            for event in room_events:
                bundle: dict[str, Any] = {}
                summary = threads.get(event.event_id)
                latest = found.get(summary[1]) if summary else None
                if summary is not None and latest is not None and visibility.visible(latest):
                    replies, _, mine = summary
                    bundle["m.thread"] = {
                        "latest_event": client_event(latest, viewer, now),
                        "count": replies,
                        "current_user_participated": mine or event.sender == viewer[0],
                    }
                edit = found.get(edit_streams.get(event.event_id, -1))
                # An edit served redacted has no new content to show.
                if edit is not None and visibility.visible(edit) \
                        and edit.event_id not in hidden:
                    bundle["m.replace"] = client_event(edit, viewer, now)
                referring = [r.event_id for r in references.get(event.event_id, [])
                             if visibility.visible(r)]
                if referring:
                    bundle["m.reference"] = {"chunk": [{"event_id": r} for r in referring]}
                if bundle:
                    out[event.event_id] = bundle
        return out


class RelationsService:
    def __init__(self, storage: Storage, aggregator: Aggregator) -> None:
        self._storage = storage
        self._aggregator = aggregator

    async def relations(self, viewer: Viewer, room_id: str, event_id: str,
                        rel_type: str | None, event_type: str | None, *,
                        from_token: str | None, to_token: str | None, backwards: bool,
                        limit: int, recurse: bool | None) -> RelationsPage:
        if not is_valid_event_id(event_id):
            raise errors.invalid_param(f"{event_id} is not a legal event ID")
        visibility = await room_visibility(self._storage, viewer[0], room_id)
        parent = await self._storage.events.get(event_id)
        if parent is None or parent.room_id != room_id or not visibility.visible(parent):
            raise errors.not_found("Event not found.")
        limit = max(1, min(limit, MAX_LIMIT))
        from_stream = parse_position(from_token).stream if from_token else None
        to_stream = parse_position(to_token).stream if to_token else None
        page = await self._storage.events.relations(
            room_id, event_id, rel_type, event_type, backwards=backwards,
            from_stream=from_stream, to_stream=to_stream, limit=limit,
            max_hops=RECURSION_DEPTH if recurse else 1,
        )
        visible = [e for e in page if visibility.visible(e)]
        body = RelationsPage(
            chunk=await self._aggregator.client_events(visible, viewer, visibility))
        if len(page) == limit:
            body.next_batch = Position(None, page[-1].stream_ordering).token()
        if from_token:
            body.prev_batch = from_token
        if recurse is not None:
            body.recursion_depth = RECURSION_DEPTH if recurse else 1
        return body

    async def threads(self, viewer: Viewer, room_id: str, *, include: str,
                      from_token: str | None, limit: int) -> RelationsPage:
        if include not in ("all", "participated"):
            raise errors.invalid_param("include must be 'all' or 'participated'")
        visibility = await room_visibility(self._storage, viewer[0], room_id)
        limit = max(1, min(limit, MAX_LIMIT))
        before = parse_position(from_token).stream if from_token else None
        roots = await self._storage.events.thread_roots(
            room_id, before_stream=before, limit=limit,
            participated_by=viewer[0] if include == "participated" else None)
        events = await self._storage.events.get_many([root for root, _ in roots])
        visible = [events[root] for root, _ in roots
                   if root in events and visibility.visible(events[root])]
        body = RelationsPage(
            chunk=await self._aggregator.client_events(visible, viewer, visibility))
        if len(roots) == limit:
            body.next_batch = Position(None, roots[-1][1]).token()
        return body
