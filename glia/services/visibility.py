"""Who may see which events of a room: the spec's history-visibility rules.

Evaluated per event from two small interval lists (the room's
``m.room.history_visibility`` values and the reader's memberships over time), so a page of
any depth costs two extra queries. Shared by every reader of room events: the timeline,
relations and threads, sync and search. A remote server (the federation endpoints) sees
what any of its users would, and what anyone may (``ServerVisibility``).

Erasure (the last section): an event whose sender was deactivated with ``erase`` is
served redacted to readers who were not joined when it was sent; those who were keep
seeing it as before (Synapse's rule).
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence

from glia import errors
from glia.ids import is_valid_room_id
from glia.protocol.redaction import redact
from glia.protocol.room_versions import RoomVersion, get_room_version
from glia.storage import Storage
from glia.storage.events import StoredEvent
from glia.storage.state import StateInterval


class Visibility:
    """Decides which events of one room one user may see."""

    def __init__(self, user_id: str, history: list[tuple[StateInterval, str]],
                 memberships: list[StateInterval], *, everything: bool = False) -> None:
        self._everything = everything
        self._user_id = user_id
        self._history = history
        self._history_starts = [h.from_stream for h, _ in history]
        self._memberships = memberships
        self._membership_starts = [m.from_stream for m in memberships]
        #: When the reader's last join began (rule 3: "joined at any point after").
        joins = [m.from_stream for m in memberships if m.membership == "join"]
        self._last_join = joins[-1] if joins else None

    @staticmethod
    def _at(starts: list[int], stream: int) -> int:
        return bisect.bisect_right(starts, stream) - 1

    def visible(self, event: StoredEvent) -> bool:
        if self._everything:
            return True
        if event.type == "m.room.member" and event.state_key == self._user_id:
            return True
        i = self._at(self._history_starts, event.stream_ordering)
        if not self._allowed(i, event.stream_ordering):
            # A history_visibility change itself may be seen if the value before it
            # allows that too (the spec's rule for these events).
            return i >= 0 and self._history[i][0].event_id == event.event_id and \
                self._allowed(i - 1, event.stream_ordering)
        return True

    def _allowed(self, i: int, stream: int) -> bool:
        """The spec's rules for an event at ``stream`` under the ``i``-th history
        visibility (before the first: ``shared``, the default)."""
        if i < 0 and stream < 0 and self._history:
            # Backfilled history (negative stream orderings) lies before everything
            # this server saw: judged under the earliest value it knows, not the
            # default, so a room that was never ``shared`` here does not become so.
            i = 0
        visibility = self._history[i][1] if i >= 0 else "shared"
        if visibility == "world_readable":
            return True
        j = self._at(self._membership_starts, stream)
        membership = self._memberships[j].membership if j >= 0 else None
        if membership == "join":
            return True
        if visibility == "shared" and self._last_join is not None and self._last_join > stream:
            return True
        return visibility == "invited" and membership == "invite"

    def was_joined_at(self, event: StoredEvent) -> bool:
        """Whether the reader was joined to the room when ``event`` was sent (a server
        admin's view counts as joined everywhere)."""
        if self._everything:
            return True
        j = self._at(self._membership_starts, event.stream_ordering)
        return j >= 0 and self._memberships[j].membership == "join"


async def _history(storage: Storage, room_id: str) -> list[tuple[StateInterval, str]]:
    """The room's ``history_visibility`` values over time, oldest first."""
    rows = await storage.state.intervals(room_id, "m.room.history_visibility", "")
    events = await storage.events.get_many([h.event_id for h in rows])
    return [(h, str(events[h.event_id].content.get("history_visibility", "shared")))
            for h in rows if h.event_id in events]


async def room_visibility(storage: Storage, user_id: str, room_id: str) -> Visibility:
    """The reader's view of a room; ``404`` for unknown rooms, ``403`` for rooms the user
    never belonged to (unless world-readable)."""
    if not is_valid_room_id(room_id):
        raise errors.invalid_param(f"{room_id} is not a legal room ID")
    if await storage.rooms.get(room_id) is None:
        raise errors.not_found("Unknown room")
    history = await _history(storage, room_id)
    memberships = await storage.state.intervals(room_id, "m.room.member", user_id)
    if not memberships:
        world = history and history[-1][1] == "world_readable"
        if not world:
            raise errors.forbidden(f"User {user_id} not in room {room_id}")
    return Visibility(user_id, history, memberships)


async def admin_visibility(storage: Storage, user_id: str, room_id: str) -> Visibility:
    """A server admin's view of a room through the admin API: every event, whatever the
    admin's membership (``404`` for unknown rooms)."""
    if not is_valid_room_id(room_id):
        raise errors.invalid_param(f"{room_id} is not a legal room ID")
    if await storage.rooms.get(room_id) is None:
        raise errors.not_found("Room not found")
    return Visibility(user_id, [], [], everything=True)


class ServerVisibility(Visibility):
    """Which events of one room a remote server may see: those any of its users may
    see by the rules above (membership at the event, ``shared`` and a later join,
    ``invited``), and those anyone may see (``world_readable``, and the
    ``history_visibility`` changes the rule for those allows)."""

    def __init__(self, server_name: str, history: list[tuple[StateInterval, str]],
                 users: dict[str, list[StateInterval]]) -> None:
        super().__init__("", history, [])
        self.server_name = server_name
        self._users = [Visibility(user_id, history, memberships)
                       for user_id, memberships in users.items()]
        #: Whether one of the server's users is joined now: a server taking part in
        #: the room, which needs events it may not read (redacted) to follow the graph.
        self.participating = any(m[-1].to_stream is None and m[-1].membership == "join"
                                 for m in users.values() if m)
        #: Whether the server may read anything of the room: one of its users was
        #: ever joined or invited, or the room was ever world-readable.
        self.may_read_room = self.participating or any(
            v == "world_readable" for _, v in history) or any(
            i.membership in ("join", "invite") for m in users.values() for i in m)

    def visible(self, event: StoredEvent) -> bool:
        return super().visible(event) or any(u.visible(event) for u in self._users)

    def was_joined_at(self, event: StoredEvent) -> bool:
        return any(u.was_joined_at(event) for u in self._users)


async def server_visibility(storage: Storage, server_name: str, room_id: str
                            ) -> ServerVisibility:
    """A remote server's view of a room this server has (the caller checked that)."""
    history = await _history(storage, room_id)
    users = await storage.server_memberships.intervals(room_id, server_name)
    return ServerVisibility(server_name, history, users)


# -- erasure ------------------------------------------------------------------------------

async def erased_for(storage: Storage, visibility: Visibility,
                     events: Sequence[StoredEvent]) -> set[str]:
    """The IDs of ``events`` their reader is served redacted: sent by an erased user, and
    the reader was not joined when they were sent (one query for the whole page)."""
    senders = {e.sender for e in events if e.redacted_by is None}
    erased = await storage.users.erased_among(senders) if senders else set()
    return {e.event_id for e in events if e.redacted_by is None and e.sender in erased
            and not visibility.was_joined_at(e)}


async def as_served(storage: Storage, visibility: Visibility,
                    events: Sequence[StoredEvent]) -> list[StoredEvent]:
    """``events`` as their reader is served them: the ones :func:`erased_for` names
    replaced by their redacted form."""
    return await redacted(storage, events, await erased_for(storage, visibility, events))


async def redacted(storage: Storage, events: Sequence[StoredEvent],
                   hidden: set[str]) -> list[StoredEvent]:
    """``events`` with those in ``hidden`` replaced by their redacted form (the stored
    event stays as it is, for the readers who saw it)."""
    versions: dict[str, RoomVersion] = {}
    out = []
    for event in events:
        if event.event_id in hidden:
            if event.room_id not in versions:
                room = await storage.rooms.get(event.room_id)
                version = get_room_version(room.room_version) if room is not None else None
                assert version is not None, event.room_id
                versions[event.room_id] = version
            unsigned = {k: v for k, v in event.unsigned.items() if k != "prev_content"}
            event = dataclasses.replace(
                event, pdu=redact(event.pdu, versions[event.room_id]), unsigned=unsigned)
        out.append(event)
    return out
