"""Who push evaluation considers for an event: the room's joined members at the event,
and the own push rules and HTTP pushers among them, read once per room for a batch of
events (``RoomBatch``), with the joined members of the rooms evaluated last kept from one
batch to the next (``JoinedMembers``).

Keeping a room's members is safe because a room's events are written one at a time
(the event writer's room lock, across processes too) and the push subscriber runs after
an event commits: when an event at position ``S`` is evaluated, every membership change
of its room below ``S`` has committed, so the members kept at an earlier position ``A``
plus the changes in ``(A, S]`` (one indexed query, usually empty) are the members at
``S``. An event older than what is kept (a retry from the outbox) reads its members
whole, as before. Every process keeps its own, brought up to date the same way, so a
change another process wrote is applied like one of ours.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping

from glia.storage import Stores
from glia.storage.events import StoredEvent
from glia.storage.push import UserRules
from glia.storage.state import Membership

__all__ = ["JoinedMembers", "RoomBatch", "invitee_of"]

class Joined(dict[str, str]):
    """Joined members: user ID → the event ID of their member event. ``version`` counts
    the changes applied to it, so what is derived from it (the members' display names)
    can be kept while it is unchanged."""

    version = 0


class JoinedMembers:
    """The joined members of the ``rooms`` rooms evaluated last, each with the stream
    position they are the members at (a room's entry is about its member count, so a
    room cannot outgrow it)."""

    def __init__(self, rooms: int) -> None:
        self._rooms = rooms
        self._by_room: OrderedDict[str, tuple[int, Joined]] = OrderedDict()

    def take(self, room_id: str) -> tuple[int, Joined] | None:
        """The room's members and their position, if kept; the caller owns them (and
        may change them) until it puts them back."""
        return self._by_room.pop(room_id, None)

    def put(self, room_id: str, at: int, joined: Joined) -> None:
        """Keep ``joined`` as the room's members at ``at`` (the newest wins, should two
        batches of one room have run side by side)."""
        kept = self._by_room.pop(room_id, None)
        if kept is not None and kept[0] > at:
            at, joined = kept
        self._by_room[room_id] = (at, joined)
        while len(self._by_room) > self._rooms:
            self._by_room.popitem(last=False)


class RoomBatch:
    """One room's events in one batch (a room created with its invites, a retry), and
    the members and push rules their evaluation needs, read once for the batch instead
    of once per event: the joined members at the first event (from ``kept`` brought up
    to it, or read), then the membership changes up to the last one, applied in stream
    order; the own rules of every member joined at some event and of every invitee."""

    def __init__(self, room_id: str, kept: tuple[int, Joined] | None) -> None:
        self.room_id = room_id
        self._kept = kept
        self._streams: list[int] = []
        self._invitees: set[str] = set()
        self._joined: Joined | None = None
        self._changes: list[tuple[Membership, int]] | None = None
        self._changes_since = 0
        self._applied = 0
        self._at = 0
        self._rules: dict[str, UserRules] | None = None
        self._pusher_users: frozenset[str] | None = None

    def add(self, event: StoredEvent, is_local: Callable[[str], bool]) -> None:
        self._streams.append(event.stream_ordering)
        invitee = invitee_of(event, is_local)
        if invitee is not None:
            self._invitees.add(invitee)

    def members(self) -> tuple[int, Joined] | None:
        """The members this batch read or brought up to date and their position, to be
        kept for the room's next batch (what it was given, if it read none)."""
        if self._joined is None:
            return self._kept
        return self._at, self._joined

    async def _load_changes(self, tx: Stores, since: int) -> list[tuple[Membership, int]]:
        """The membership changes from ``since`` (the kept members' position, or the
        batch's first event) to the batch's last event, read once (again only if asked
        from further back, before any was applied)."""
        if self._changes is None or self._changes_since > since:
            assert self._applied == 0
            last = max(self._streams)
            self._changes = await tx.state.member_changes(self.room_id, since, last) \
                if last > since else []
            self._changes_since = since
        return self._changes

    async def _load(self, tx: Stores) -> Joined:
        if self._joined is None:
            first = min(self._streams)
            kept = self._kept
            if kept is not None and kept[0] <= first:
                await self._load_changes(tx, kept[0])
                self._at, self._joined = kept
                self.joined_at_position(first)
            else:
                await self._load_changes(tx, first)
                self._joined = Joined((m.user_id, m.event_id) for m in
                                      await tx.state.members_at(self.room_id, first, ["join"]))
                self._at = first
        return self._joined

    def joined_at_position(self, stream: int) -> Joined:
        """Apply the loaded changes up to ``stream``."""
        joined, changes = self._joined, self._changes
        assert joined is not None and changes is not None
        while self._applied < len(changes) and changes[self._applied][1] <= stream:
            member, position = changes[self._applied]
            if position > self._at:
                if member.membership == "join":
                    joined[member.user_id] = member.event_id
                else:
                    joined.pop(member.user_id, None)
                joined.version += 1
            self._applied += 1
        self._at = max(self._at, stream)
        return joined

    async def joined_at(self, tx: Stores, stream: int) -> Joined:
        """The joined members (user ID → member event ID) just after ``stream``; asked
        for in stream order (the writer hands events over so)."""
        await self._load(tx)
        if stream < self._at:
            return Joined((m.user_id, m.event_id)
                          for m in await tx.state.members_at(self.room_id, stream, ["join"]))
        return self.joined_at_position(stream)

    async def _later_candidates(self, tx: Stores) -> set[str]:
        """Who may be a recipient besides the members joined at the first event: those
        joining within the batch, and invitees."""
        first = min(self._streams)
        changes = self._changes if self._changes is not None \
            else await self._load_changes(tx, first)
        return {m.user_id for m, at in changes if at > first and m.membership == "join"} \
            | self._invitees

    async def rules(self, tx: Stores) -> Mapping[str, UserRules]:
        """The own rules of the batch's possible recipients who have any (left out:
        the bare server defaults)."""
        if self._rules is None:
            rules = await tx.push.rules_of_members(self.room_id, min(self._streams))
            others = sorted(await self._later_candidates(tx) - set(rules))
            if others:
                found = await tx.push.rules_for_users(others)
                rules.update({u: r for u, r in found.items() if r.rules or r.changes})
            self._rules = rules
        return self._rules

    async def pusher_users(self, tx: Stores) -> frozenset[str]:
        """The batch's possible recipients who have an HTTP pusher."""
        if self._pusher_users is None:
            found = await tx.push.http_pusher_users_of_members(self.room_id,
                                                               min(self._streams))
            others = sorted(await self._later_candidates(tx) - found)
            if others:
                found |= await tx.push.http_pusher_users(others)
            self._pusher_users = frozenset(found)
        return self._pusher_users


def invitee_of(event: StoredEvent, is_local: Callable[[str], bool]) -> str | None:
    """The local user an invite event invites (not a self-invite), else None."""
    target = event.state_key if event.type == "m.room.member" else None
    if target and target != event.sender and is_local(target) and \
            event.content.get("membership") == "invite":
        return target
    return None
