"""What the full-text index holds for an event: the searchable field of a message,
a room name or a topic. Edited messages: an ``m.replace`` edit is not indexed as an
event of its own (its body is the fallback ``* text``); its new text replaces the
edited message's entry instead, so a search finds a message by what it says now and
returns the message itself (with the edit bundled, as every read path serves it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from glia.services.search_request import KEYS
from glia.storage.events import EventStore, StoredEvent
from glia.storage.search import SearchEntry

__all__ = ["FIELDS", "INDEXED_TYPES", "edited_event_of", "entry_for", "is_edit",
           "searchable_texts", "with_newest_text"]

FIELDS = {event_type: field for event_type, field in KEYS.values()}
INDEXED_TYPES = tuple(FIELDS)


def entry_for(stream_ordering: int, event_id: str, room_id: str, sender: str,
              event_type: str, state_key: str | None,
              content: Mapping[str, Any]) -> SearchEntry | None:
    """The index entry of an event, or None if it has nothing searchable."""
    field = FIELDS.get(event_type)
    if field is None:
        return None
    # Messages are not state; a name or topic counts only as the room's (empty key).
    if state_key != (None if event_type == "m.room.message" else ""):
        return None
    text = content.get(field)
    if not isinstance(text, str) or not text.strip() or is_edit(content):
        return None
    return SearchEntry(stream_ordering, event_id, room_id, sender, event_type,
                       isinstance(content.get("url"), str), text)


def is_edit(content: Mapping[str, Any]) -> bool:
    relation = content.get("m.relates_to")
    return isinstance(relation, Mapping) and relation.get("rel_type") == "m.replace"


def edited_event_of(content: Mapping[str, Any]) -> str | None:
    """The event an ``m.replace`` edit replaces, or None for any other content."""
    if not is_edit(content):
        return None
    target = content["m.relates_to"].get("event_id")
    return target if isinstance(target, str) else None


async def with_newest_text(events: EventStore, entries: Sequence[SearchEntry]
                           ) -> list[SearchEntry]:
    """The entries, each message's text taken from its newest edit (by its own sender,
    of the same type, not redacted), if it has one."""
    by_room: dict[str, list[SearchEntry]] = {}
    for entry in entries:
        by_room.setdefault(entry.room_id, []).append(entry)
    newest: dict[str, int] = {}
    for room_id, room_entries in by_room.items():
        edits = await events.latest_edits(room_id, [e.event_id for e in room_entries
                                                    if e.type == "m.room.message"])
        for e in room_entries:
            stream = edits.get((e.event_id, e.sender, e.type))
            if stream is not None:
                newest[e.event_id] = stream
    found = await events.by_streams(list(newest.values()))
    out = []
    for entry in entries:
        edit = found.get(newest.get(entry.event_id, -1))
        new_content = edit.content.get("m.new_content") if edit is not None else None
        text = new_content.get("body") if isinstance(new_content, Mapping) else None
        if isinstance(text, str) and text.strip():
            assert isinstance(new_content, Mapping)
            entry = replace(entry, text=text,
                            contains_url=isinstance(new_content.get("url"), str))
        out.append(entry)
    return out


async def searchable_texts(events: EventStore, stored: Sequence[StoredEvent]) -> list[str]:
    """The text each event is indexed under (an edited message's newest)."""
    entries = [entry for event in stored if (entry := entry_for(
        event.stream_ordering, event.event_id, event.room_id, event.sender, event.type,
        event.state_key, event.content)) is not None]
    return [e.text for e in await with_newest_text(events, entries)]
