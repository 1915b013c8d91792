"""The state at an event of a forked room, and what a received event that forks the room
does to its current state: the spec's *S(E)* (state before), *S′(E)* (state after) and
the room's state resolved over its forward extremities (``protocol/state_resolution``).

**Where the state at an event comes from.** The room's state history (``room_state``,
deltas over stream positions) gives, for each event, the room's current state just after
the event was written (``ids_at`` its stream position). For an event on the room's one
line of history that *is* the state after the event. An event received on a fork has
the state of its own branch instead; where that differs from the history at its
position, the difference is stored (``event_state_overrides``, written here). So the
state after an event is ``ids_at(its stream) + its overrides``: no snapshot per event,
nothing at all for a room that never forked, and a purge removes the rows with the room.

**The invariant.** The room's current state is the resolution of the states after its
forward extremities (one extremity: the state after it). Our own events are built on all
the forward extremities and on the current state, so they keep it without help; an event
whose ``prev_events`` are exactly the forward extremities has the current state before
it (the caller's fast path). Any other received event (:meth:`ForkedState.prepare`):

1. the state before it is the resolution of the states after its known prev_events
   (prev_events we do not have — an unfilled gap, an outlier — are left out; with none
   known the caller goes on as before: the current state). A soft-failed event is not in
   the timeline but later events may build on it, so its state is kept too
   (:meth:`ForkedState.soft_failed`: overrides over the room's state when it came);
2. it must pass the auth rules against that state, or it is rejected (the spec's check
   5 on receipt: an event that its own auth events allow but its place in the graph
   does not, such as a branch forged on a moment when its sender had power);
3. the soft-failure check uses the state resolved from the states after the current
   forward extremities and the state before the event (as Synapse does);
4. when written (:meth:`ForkedState.persist`), the room's new state is the resolution of
   the states after the new forward extremities (the event replacing its prev_events);
   the keys that change are written at the event's stream position (so ``/sync`` sends
   them in the ``state`` section), and the event's own state is kept as overrides.

Resolution reads every event of the state sets and their auth chains (stored events and
the room's outliers), which is the room's state and a few times that: a cost paid only
when a fork arrives. A resolved state that names an outlier (an event never in the
timeline) keeps that key's current value, logged, since room state must name stored
events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from glia.protocol import auth_rules
from glia.protocol.events import StateKey, auth_event_ids, prev_event_ids
from glia.protocol.room_versions import RoomVersion
from glia.protocol.state_resolution import resolve_state
from glia.services.events import EventsService
from glia.services.federation.pdus import check_against_state
from glia.storage import Stores
from glia.storage.events import StoredEvent

__all__ = ["Fork", "ForkedState"]

logger = logging.getLogger(__name__)

#: Events read per query while walking auth chains.
_BATCH = 200

Pdu = Mapping[str, Any]
StateIds = dict[StateKey, str]


@dataclass
class Fork:
    """A received event that forks the room, with the states the checks need."""

    room_id: str
    version: RoomVersion
    event_id: str
    event: dict[str, Any]
    before: StateIds
    #: The state after each current forward extremity we know the state of.
    extremity_states: dict[str, StateIds]
    events: dict[str, Pdu]
    #: Why the event fails against the state before it (then it is rejected).
    rejected: str | None = None

    @property
    def after(self) -> StateIds:
        """*S′(E)*: the state before the event, with the event applied if it is state."""
        after = dict(self.before)
        if isinstance(self.event.get("state_key"), str):
            after[(str(self.event["type"]), self.event["state_key"])] = self.event_id
        return after

    def auth_state(self, state: Mapping[StateKey, str]) -> dict[StateKey, Pdu]:
        """The events of ``state`` that the auth rules read for this event."""
        keys = [*auth_rules.auth_types_for_pdu(self.event, self.version),
                auth_rules.CREATE_KEY]
        return {k: self.events[state[k]] for k in keys
                if k in state and state[k] in self.events}


class ForkedState:
    def __init__(self, events: EventsService) -> None:
        self._events = events

    async def prepare(self, tx: Stores, room_id: str, version: RoomVersion, event_id: str,
                      event: dict[str, Any], extremities: Sequence[str]) -> Fork | None:
        """The fork ``event`` makes, checked against the state before it; None when
        its prev_events are the forward extremities or none of them has a known state
        (the current state is the state before it then)."""
        prevs = list(dict.fromkeys(prev_event_ids(event)))
        if set(prevs) == set(extremities):
            return None
        states = await self.states_after(tx, room_id, [*prevs, *extremities])
        prev_states = [states[p] for p in prevs if p in states]
        if not prev_states:
            return None
        events = await self._load(tx, room_id, [*states.values()])
        events[event_id] = event
        fork = Fork(room_id, version, event_id, event,
                    await _resolve(prev_states, events, version),
                    {x: states[x] for x in extremities if x in states}, events)
        fork.rejected = check_against_state(event, fork.auth_state(fork.before), version)
        return fork

    async def soft_fail_state(self, fork: Fork) -> dict[StateKey, Pdu]:
        """The auth state the soft-failure check reads: the states after the forward
        extremities resolved with the state before the event."""
        state = await _resolve([*fork.extremity_states.values(), fork.before], fork.events,
                               fork.version)
        return fork.auth_state(state)

    async def persist(self, tx: Stores, fork: Fork, extremities: list[str]
                      ) -> StoredEvent:
        """Write the event with the room's new forward ``extremities`` (it among them),
        make the room's state their resolution and keep the event's own state."""
        after = fork.after
        states = [fork.extremity_states[x] for x in extremities if x in fork.extremity_states]
        resolved = await _resolve([*states, after], fork.events, fork.version)
        key = _state_key(fork.event)
        stored = await self._events.persist_received(
            tx, fork.room_id, fork.version, fork.event, fork.event_id,
            in_state=key is not None and resolved.get(key) == fork.event_id,
            extremities=extremities)
        current = await tx.state.current_ids(fork.room_id)
        present = await tx.events.get_many(sorted(set(resolved.values()) - set(current.values())))
        stream = stored.stream_ordering
        for k in sorted(set(current) | set(resolved)):
            new = resolved.get(k)
            if new == current.get(k):
                continue
            if new is None:
                await tx.state.unset(fork.room_id, k[0], k[1], stream)
            elif new in present:
                content = present[new].pdu.get("content")
                membership = content.get("membership") if isinstance(content, Mapping) \
                    else None
                await tx.state.set(fork.room_id, k[0], k[1], new,
                                   membership if isinstance(membership, str) else None,
                                   stream)
            else:
                logger.warning("state resolution in %s picked %s for %s, which is not a "
                               "stored event; the key keeps its value", fork.room_id, new, k)
        # The event's own state where it differs from the history at its position.
        written = await tx.state.ids_at(fork.room_id, stream)
        overrides: dict[StateKey, str | None] = {
            k: after.get(k) for k in set(after) | set(written) if after.get(k) != written.get(k)}
        if overrides:
            await tx.state.put_after_event_overrides(fork.room_id, fork.event_id, overrides)
            logger.info("%s forks %s: its state differs from the room's in %d keys",
                        fork.event_id, fork.room_id, len(overrides))
        return stored

    async def soft_failed(self, tx: Stores, room_id: str, event_id: str,
                          event: Mapping[str, Any], fork: Fork | None,
                          extremities: Sequence[str]) -> None:
        """Keep the state after a soft-failed event (later events may build on it):
        as overrides over the room's state now, the state after its newest forward
        extremity (the room's last written event is always one)."""
        streams = [e.stream_ordering for e in (await tx.events.get_many(list(extremities))
                                               ).values()]
        if not streams:
            return
        anchor = max(streams)
        if fork is None:
            # Its prev_events are the forward extremities (or none has a known state):
            # the state before it is taken to be the room's state now.
            key = _state_key(event)
            overrides: dict[StateKey, str | None] = {} if key is None else {key: event_id}
        else:
            now = await tx.state.ids_at(room_id, anchor)
            after = fork.after
            overrides = {k: after.get(k) for k in set(after) | set(now)
                         if after.get(k) != now.get(k)}
        await tx.state.put_state_anchor(room_id, event_id, anchor)
        if overrides:
            await tx.state.put_after_event_overrides(room_id, event_id, overrides)

    async def states_after(self, tx: Stores, room_id: str, event_ids: Sequence[str]
                           ) -> dict[str, StateIds]:
        """The state after each of ``event_ids`` that is a stored event of the room or
        a soft-failed one."""
        wanted = list(dict.fromkeys(event_ids))
        stored = await tx.events.get_many(wanted)
        positions = {e: stored[e].stream_ordering for e in wanted
                     if e in stored and stored[e].room_id == room_id}
        positions.update(await tx.state.state_anchors(
            room_id, [e for e in wanted if e not in positions]))
        known = [e for e in wanted if e in positions]
        overrides = await tx.state.after_event_overrides(known)
        out: dict[str, StateIds] = {}
        for event_id in known:
            state = await tx.state.ids_at(room_id, positions[event_id])
            for key, value in overrides.get(event_id, {}).items():
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = value
            out[event_id] = state
        return out

    @staticmethod
    async def _load(tx: Stores, room_id: str, states: Sequence[StateIds]) -> dict[str, Pdu]:
        """The events of ``states`` and of their auth chains: stored events of the room,
        its soft-failed events (a soft-failed prev_event's state names it) and its
        outliers."""
        events: dict[str, Pdu] = {}
        frontier = sorted({eid for state in states for eid in state.values()})
        while frontier:
            for i in range(0, len(frontier), _BATCH):
                chunk = frontier[i:i + _BATCH]
                found = {e: s.pdu for e, s in (await tx.events.get_many(chunk)).items()
                         if s.room_id == room_id}
                rest = [e for e in chunk if e not in found]
                if rest:
                    found.update(await tx.federation_queue.soft_failed(room_id, rest))
                    rest = [e for e in rest if e not in found]
                if rest:
                    found.update(await tx.federation_queue.outliers(room_id, rest))
                events.update(found)
                for e in chunk:
                    events.setdefault(e, {})  # unknown: not looked up again
            frontier = sorted({a for e in frontier for a in auth_event_ids(events[e])
                               if a not in events})
        return {e: pdu for e, pdu in events.items() if pdu}


def _state_key(event: Mapping[str, Any]) -> StateKey | None:
    state_key = event.get("state_key")
    return (str(event["type"]), state_key) if isinstance(state_key, str) else None


async def _resolve(states: Sequence[StateIds], events: Mapping[str, Pdu],
                   version: RoomVersion) -> StateIds:
    """Resolution off the event loop (it is pure and can take a while in a big room)."""
    if len(states) == 1:
        return dict(states[0])
    return await asyncio.to_thread(resolve_state, list(states), events, version)
