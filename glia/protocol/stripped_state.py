"""Stripped state (the spec's ``StrippedStateEvent``): the few state events of a room a
server hands an invitee's or knocker's server (``invite_room_state``,
``knock_room_state``) so its client can show the room (name, avatar, join rule, who
invited) before joining. They come unsigned from the other server and are shown as
given; only their shape is checked here, and their number bounded."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["MAX_STRIPPED_EVENTS", "stripped_events"]

#: Stripped events kept of one invite or knock (the spec recommends seven types, plus
#: the inviter's membership).
MAX_STRIPPED_EVENTS: Final = 50


def stripped_events(value: Any) -> list[dict[str, Any]]:
    """The well-formed stripped events of ``value`` (a list of objects with a string
    ``type``, ``state_key`` and ``sender`` and an object ``content``), each as those four
    fields, the first of each (type, state_key) only, at most
    :data:`MAX_STRIPPED_EVENTS`; anything else is left out."""
    if not isinstance(value, list):
        return []
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for event in value:
        if not isinstance(event, dict):
            continue
        kind, key = event.get("type"), event.get("state_key")
        sender, content = event.get("sender"), event.get("content")
        if not (isinstance(kind, str) and isinstance(key, str) and isinstance(sender, str)
                and isinstance(content, dict)) or (kind, key) in seen:
            continue
        seen.add((kind, key))
        out.append({"type": kind, "state_key": key, "content": content, "sender": sender})
        if len(out) == MAX_STRIPPED_EVENTS:
            break
    return out
