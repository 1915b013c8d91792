"""State resolution: one room state from the states at several forward extremities.

Every server must pick the same winner for each ``(type, state_key)`` from the same
inputs, so this follows the spec's algorithm literally: version 1 for room v1, version
2 for v2–v11, and v2 with the v12 changes (start from an empty state, add the
*conflicted state subgraph*) for v12.

It is a pure function: state sets map keys to event IDs and ``events`` must hold every
event named in them and in their auth chains (a dict is fine). Events missing from
``events`` are treated as unknown and skipped. ``rejected`` names events that were
rejected; they are never used as auth events during the iterative auth checks.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from typing import Any

from glia.errors import AuthRuleError
from glia.protocol.auth_rules import CREATE_KEY, POWER_LEVELS_KEY, auth_types_for_pdu, check_auth
from glia.protocol.events import StateKey, auth_event_ids
from glia.protocol.power_levels import room_creators, user_level
from glia.protocol.room_versions import RoomVersion, StateResAlgorithm

EventMap = Mapping[str, Mapping[str, Any]]
StateMap = Mapping[StateKey, str]


def resolve_state(
    state_sets: Sequence[StateMap],
    events: EventMap,
    room_version: RoomVersion,
    rejected: Set[str] = frozenset(),
) -> dict[StateKey, str]:
    """Resolve ``state_sets`` into one state map (key → event ID)."""
    if not state_sets:
        return {}
    if len(state_sets) == 1:
        return dict(state_sets[0])
    if room_version.state_res is StateResAlgorithm.V1:
        return _resolve_v1(state_sets, events, room_version)
    return _resolve_v2(state_sets, events, room_version, rejected)


# --- shared helpers -------------------------------------------------------------------


def _key(event: Mapping[str, Any]) -> StateKey:
    return (str(event.get("type")), str(event.get("state_key")))


def split_state(
    state_sets: Sequence[StateMap],
) -> tuple[dict[StateKey, str], set[str]]:
    """The unconflicted state map and the conflicted state set.

    A key is unconflicted only if every state set has it with the same event.
    """
    unconflicted: dict[StateKey, str] = {}
    conflicted: set[str] = set()
    keys: set[StateKey] = set().union(*(s.keys() for s in state_sets))
    for key in keys:
        values = [s.get(key) for s in state_sets]
        first = values[0]
        if first is not None and all(v == first for v in values):
            unconflicted[key] = first
        else:
            conflicted.update(v for v in values if v is not None)
    return unconflicted, conflicted


def auth_chain(start: Iterable[str], events: EventMap) -> set[str]:
    """Every event reachable through ``auth_events`` from the ``start`` events
    (the start events themselves only if another start event reaches them)."""
    seen: set[str] = set()
    stack = [a for eid in start if eid in events for a in auth_event_ids(events[eid])]
    while stack:
        eid = stack.pop()
        if eid in seen:
            continue
        seen.add(eid)
        event = events.get(eid)
        if event is not None:
            stack.extend(auth_event_ids(event))
    return seen


def auth_difference(state_sets: Sequence[StateMap], events: EventMap) -> set[str]:
    """Events in some but not all of the state sets' full auth chains.

    A state set's full auth chain here includes the set's own events, as Synapse computes
    it: otherwise an unconflicted event that only one set's events cite as an auth event
    would be in the difference, and (v12, which starts the iterative auth checks from
    nothing) could change the outcome, so servers would disagree."""
    chains = [auth_chain(s.values(), events) | set(s.values()) for s in state_sets]
    union: set[str] = set().union(*chains)
    common = set(chains[0]).intersection(*chains[1:])
    return union - common


def conflicted_subgraph(conflicted: Set[str], events: EventMap) -> set[str]:
    """The v12 *conflicted state subgraph*: every event on an ``auth_events`` path from
    one conflicted event to another, endpoints included."""
    reachable = auth_chain(conflicted, events) | conflicted
    reaches: dict[str, bool] = {}
    for root in reachable:
        # Iterative post-order: x reaches the conflicted set if it is in it or one of its
        # auth events reaches it.
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            eid, expanded = stack.pop()
            if eid in reaches:
                continue
            parents = auth_event_ids(events[eid]) if eid in events else []
            if expanded:
                reaches[eid] = eid in conflicted or any(reaches.get(p, False) for p in parents)
                continue
            stack.append((eid, True))
            stack.extend((p, False) for p in parents if p not in reaches)
    return {eid for eid in reachable if reaches.get(eid)}


def is_power_event(event: Mapping[str, Any]) -> bool:
    """Events that can take abilities away: power levels, join rules, kicks and bans."""
    if "state_key" not in event:
        return False
    event_type = event.get("type")
    if event_type in ("m.room.power_levels", "m.room.join_rules"):
        return True
    if event_type == "m.room.member":
        content = event.get("content")
        membership = content.get("membership") if isinstance(content, Mapping) else None
        return membership in ("leave", "ban") and event.get("sender") != event.get("state_key")
    return False


def _find_create(state_sets: Sequence[StateMap], events: EventMap) -> Mapping[str, Any] | None:
    for state in state_sets:
        create_id = state.get(CREATE_KEY)
        if create_id is not None and create_id in events:
            return events[create_id]
    return None


def _auth_state(
    event: Mapping[str, Any],
    state: Mapping[StateKey, str],
    events: EventMap,
    room_version: RoomVersion,
    create: Mapping[str, Any] | None,
    rejected: Set[str],
    use_auth_events: bool,
) -> dict[StateKey, Mapping[str, Any]]:
    """The auth state for checking ``event`` against ``state``, falling back to the
    event's own (non-rejected) auth events for keys the state lacks."""
    auth: dict[StateKey, Mapping[str, Any]] = {}
    if use_auth_events:
        for aid in auth_event_ids(event):
            auth_event = events.get(aid)
            if auth_event is not None and aid not in rejected and "state_key" in auth_event:
                auth[_key(auth_event)] = auth_event
    for key in [*auth_types_for_pdu(event, room_version), CREATE_KEY]:
        eid = state.get(key)
        if eid is not None and eid in events:
            auth[key] = events[eid]
    if room_version.room_id_is_create_hash and create is not None:
        # v12: the create event is implied by the room ID, never an auth event.
        auth[CREATE_KEY] = create
    return auth


def _passes(
    event: Mapping[str, Any], auth: Mapping[StateKey, Mapping[str, Any]], rv: RoomVersion
) -> bool:
    try:
        check_auth(event, auth, rv)
    except AuthRuleError:
        return False
    return True


# --- version 2 (rooms v2–v12) ---------------------------------------------------------


def _resolve_v2(
    state_sets: Sequence[StateMap],
    events: EventMap,
    rv: RoomVersion,
    rejected: Set[str],
) -> dict[StateKey, str]:
    unconflicted, conflicted = split_state(state_sets)
    if not conflicted:
        return unconflicted
    create = _find_create(state_sets, events)

    full = conflicted | auth_difference(state_sets, events)
    if rv.state_res_conflicted_subgraph:
        full |= conflicted_subgraph(conflicted, events)
    full = {eid for eid in full if eid in events}

    # Step 1: power events and the parts of their auth chains in the full conflicted set.
    power = {eid for eid in full if is_power_event(events[eid])}
    power |= auth_chain(power, events) & full
    ordered_power = _reverse_topological_power_order(power, events, rv, create)

    # Step 2: iterative auth checks from the unconflicted state (v12: from nothing).
    start: dict[StateKey, str] = {} if rv.state_res_conflicted_subgraph else dict(unconflicted)
    partial = _iterative_auth_checks(ordered_power, start, events, rv, create, rejected)

    # Steps 3 and 4: the other events, in mainline order of the resolved power levels.
    others = _mainline_order(full - power, partial.get(POWER_LEVELS_KEY), events)
    resolved = _iterative_auth_checks(others, partial, events, rv, create, rejected)

    # Step 5: the unconflicted state always wins.
    resolved.update(unconflicted)
    return resolved


def _sender_power(
    event: Mapping[str, Any], events: EventMap, rv: RoomVersion, create: Mapping[str, Any] | None
) -> float:
    """The sender's power level according to the event's own auth events."""
    power_levels: Mapping[str, Any] | None = None
    for aid in auth_event_ids(event):
        auth_event = events.get(aid)
        if auth_event is None or "state_key" not in auth_event:
            continue
        key = _key(auth_event)
        if key == POWER_LEVELS_KEY:
            power_levels = auth_event
        elif key == CREATE_KEY and not rv.room_id_is_create_hash:
            create = auth_event
    content = power_levels.get("content") if power_levels is not None else None
    return user_level(
        content if isinstance(content, Mapping) else None,
        str(event.get("sender")),
        room_creators(create, rv),
        rv,
    )


def _topological_sort(
    ids: Set[str], events: EventMap, sort_key: Callable[[str], tuple[Any, ...]]
) -> list[str]:
    """Kahn's algorithm over the auth DAG restricted to ``ids``, always taking the
    smallest ready event by ``sort_key`` (auth events come before what they authorise)."""
    parents = {eid: set(auth_event_ids(events[eid])) & ids for eid in ids}
    children: dict[str, list[str]] = {eid: [] for eid in ids}
    for eid, ps in parents.items():
        for p in ps:
            children[p].append(eid)
    waiting = {eid: len(ps) for eid, ps in parents.items()}
    ready = [(sort_key(eid), eid) for eid, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    ordered: list[str] = []
    while ready:
        _, eid = heapq.heappop(ready)
        ordered.append(eid)
        for child in children[eid]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (sort_key(child), child))
    return ordered


def _reverse_topological_power_order(
    ids: Set[str], events: EventMap, rv: RoomVersion, create: Mapping[str, Any] | None
) -> list[str]:
    """Higher sender power first, then older ``origin_server_ts``, then event ID."""
    power = {eid: _sender_power(events[eid], events, rv, create) for eid in ids}

    def sort_key(eid: str) -> tuple[Any, ...]:
        return (-power[eid], _ts(events[eid]), eid)

    return _topological_sort(ids, events, sort_key)


def _ts(event: Mapping[str, Any]) -> int:
    ts = event.get("origin_server_ts")
    return ts if isinstance(ts, int) else 0


def _power_levels_parent(event: Mapping[str, Any] | None, events: EventMap) -> str | None:
    """The ``m.room.power_levels`` event among ``event``'s auth events, if any."""
    if event is None:
        return None
    for aid in auth_event_ids(event):
        auth_event = events.get(aid)
        if (
            auth_event is not None
            and "state_key" in auth_event
            and _key(auth_event) == POWER_LEVELS_KEY
        ):
            return aid
    return None


def _mainline_order(ids: Set[str], power_levels_id: str | None, events: EventMap) -> list[str]:
    """Events based on an older power levels event first; then by timestamp and ID."""
    mainline: dict[str, int] = {}
    current = power_levels_id
    while current is not None and current not in mainline:
        mainline[current] = len(mainline)
        current = _power_levels_parent(events.get(current), events)

    def position(eid: str) -> float:
        seen: set[str] = set()
        current = _power_levels_parent(events[eid], events)
        while current is not None and current not in seen:
            if current in mainline:
                return mainline[current]
            seen.add(current)
            current = _power_levels_parent(events.get(current), events)
        return math.inf

    def sort_key(eid: str) -> tuple[float, int, str]:
        return (-position(eid), _ts(events[eid]), eid)

    return sorted(ids, key=sort_key)


def _iterative_auth_checks(
    ordered: Sequence[str],
    base: Mapping[StateKey, str],
    events: EventMap,
    rv: RoomVersion,
    create: Mapping[str, Any] | None,
    rejected: Set[str],
) -> dict[StateKey, str]:
    """Apply each state event that the auth rules allow against the state so far."""
    state = dict(base)
    for eid in ordered:
        event = events[eid]
        if "state_key" not in event:
            continue
        auth = _auth_state(event, state, events, rv, create, rejected, use_auth_events=True)
        if _passes(event, auth, rv):
            state[_key(event)] = eid
    return state


# --- version 1 (room v1) --------------------------------------------------------------


def _sha1(event_id: str) -> bytes:
    return hashlib.sha1(event_id.encode("utf-8")).digest()


def _depth(event: Mapping[str, Any]) -> int:
    depth = event.get("depth")
    return depth if isinstance(depth, int) else 0


def _resolve_v1(
    state_sets: Sequence[StateMap], events: EventMap, rv: RoomVersion
) -> dict[StateKey, str]:
    """The original algorithm: power levels, then join rules, then memberships, each
    conflict resolved by replaying candidates in depth order while they pass auth;
    other conflicts take the deepest candidate that passes auth.

    Each pass checks against *R* as the previous pass left it: the membership conflicts
    do not see each other's outcome, nor the other conflicts each other's (as Synapse
    does it, so the result does not depend on the order keys are visited in)."""
    keys: set[StateKey] = set().union(*(s.keys() for s in state_sets))
    resolved: dict[StateKey, str] = {}
    conflicts: dict[StateKey, list[str]] = {}
    for key in keys:
        values = {s[key] for s in state_sets if key in s}
        if len(values) == 1:
            resolved[key] = values.pop()
        else:
            conflicts[key] = [eid for eid in values if eid in events]
    create = _find_create(state_sets, events)

    def allowed(eid: str, state: Mapping[StateKey, str]) -> bool:
        event = events[eid]
        auth = _auth_state(event, state, events, rv, create, frozenset(), False)
        return _passes(event, auth, rv)

    def auth_order(key: StateKey, base: Mapping[StateKey, str]) -> str | None:
        # Ascending depth, then descending sha1(event_id); the last one of the run of
        # candidates that each pass auth with the one before applied.
        candidates = sorted(conflicts[key], key=lambda e: _sha1(e), reverse=True)
        candidates.sort(key=lambda e: _depth(events[e]))
        if not candidates:
            return None
        state = dict(base)
        state[key] = candidates[0]
        for eid in candidates[1:]:
            if not allowed(eid, state):
                break
            state[key] = eid
        return state[key]

    def normal(key: StateKey, base: Mapping[StateKey, str]) -> str | None:
        # Highest depth, then lowest sha1(event_id), that passes auth; if none does,
        # the last candidate (as Synapse does, so rooms stay consistent with it).
        candidates = sorted(conflicts[key], key=lambda e: (-_depth(events[e]), _sha1(e)))
        for eid in candidates:
            if allowed(eid, base):
                return eid
        return candidates[-1] if candidates else None

    auth_types = ("m.room.power_levels", "m.room.join_rules", "m.room.member")
    passes: list[tuple[Callable[[StateKey], bool], Callable[..., str | None]]] = [
        *((lambda k, t=t: k[0] == t, auth_order) for t in auth_types),
        (lambda k: k[0] not in auth_types, normal),
    ]
    for selects, pick in passes:
        base = dict(resolved)
        for key in sorted(k for k in conflicts if selects(k)):
            chosen = pick(key, base)
            if chosen is not None:
                resolved[key] = chosen
    return resolved
