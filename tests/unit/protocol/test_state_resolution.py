"""State resolution v1/v2 (and v12's variant) on small forked rooms."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from glia.protocol.auth_rules import check_auth
from glia.protocol.events import StateKey
from glia.protocol.state_resolution import (
    auth_difference,
    conflicted_subgraph,
    is_power_event,
    resolve_state,
    split_state,
)
from tests.unit.protocol.roomkit import Room, standard_room

ALICE, BOB, CAROL = "@alice:a.test", "@bob:b.test", "@carol:c.test"
PL, TOPIC = ("m.room.power_levels", ""), ("m.room.topic", "")
CAROL_MEMBER: StateKey = ("m.room.member", CAROL)


def ids(room: Room, state: dict[StateKey, dict[str, Any]]) -> dict[StateKey, str]:
    return {k: room.id(v) for k, v in state.items()}


def fork(room: Room, base: dict[StateKey, dict[str, Any]], prev: list[str], *args: Any,
         **kwargs: Any) -> tuple[dict[str, Any], dict[StateKey, dict[str, Any]]]:
    """An event built on ``base`` (not the room's current state) and the state after it."""
    event = room.make(*args, prev_events=prev, auth_state=base, **kwargs)
    check_auth(event, room.auth_state_for(event, base), room.rv)  # valid on its own branch
    room.events[room.id(event)] = event
    after = dict(base)
    if "state_key" in event:
        after[(event["type"], event["state_key"])] = event
    return event, after


def _pl(room: Room, users: dict[str, int]) -> dict[str, Any]:
    content = dict(room.state[PL]["content"])
    alice = {} if room.rv.privileged_creators else {ALICE: 100}
    content["users"] = {**alice, **users}
    return content


def _resolve_both_orders(
    room: Room, *states: dict[StateKey, dict[str, Any]]
) -> dict[StateKey, str]:
    maps = [ids(room, s) for s in states]
    results = [resolve_state(list(p), room.events, room.rv) for p in itertools.permutations(maps)]
    assert all(r == results[0] for r in results), "resolution depends on input order"
    return results[0]


@pytest.mark.parametrize("version", [str(n) for n in range(1, 13)])
def test_demotion_beats_concurrent_ban(version: str) -> None:
    """Alice demotes Bob while Bob, on another branch, bans Carol: the ban loses."""
    room = standard_room(version, users={BOB: 50})
    room.join(BOB)
    room.join(CAROL)
    base, prev = dict(room.state), list(room.extremities)
    demote, state_a = fork(room, base, prev, ALICE, "m.room.power_levels", _pl(room, {BOB: 0}), "")
    ban, state_b = fork(room, base, prev, BOB, "m.room.member", {"membership": "ban"}, CAROL)

    resolved = _resolve_both_orders(room, state_a, state_b)
    assert resolved[PL] == room.id(demote)
    assert resolved[CAROL_MEMBER] == room.id(base[CAROL_MEMBER])
    assert ban["content"]["membership"] == "ban"
    # Everything not in conflict is untouched.
    for key, event in base.items():
        if key not in (PL, CAROL_MEMBER):
            assert resolved[key] == room.id(event)


@pytest.mark.parametrize("version", [str(n) for n in range(2, 13)])
def test_state_sent_before_demotion_is_dropped(version: str) -> None:
    """Carol, a moderator, sets the topic while Alice demotes her concurrently; the topic
    is ordered by the mainline of the winning power levels and fails auth there."""
    room = standard_room(version, users={CAROL: 50})
    room.join(CAROL)
    base, prev = dict(room.state), list(room.extremities)
    demote, state_a = fork(room, base, prev, ALICE, "m.room.power_levels", _pl(room, {}), "")
    _, state_b = fork(room, base, prev, CAROL, "m.room.topic", {"topic": "mine"}, "")
    resolved = _resolve_both_orders(room, state_a, state_b)
    assert resolved[PL] == room.id(demote)
    assert TOPIC not in resolved


def test_v1_keeps_unconflicted_topic_that_v2_drops() -> None:
    """State res v1 only resolves keys with *different* events; a key present in one
    state set only is not a conflict (one of the v1 bugs v2 fixed)."""
    room = standard_room("1", users={CAROL: 50})
    room.join(CAROL)
    base, prev = dict(room.state), list(room.extremities)
    _, state_a = fork(room, base, prev, ALICE, "m.room.power_levels", _pl(room, {}), "")
    topic, state_b = fork(room, base, prev, CAROL, "m.room.topic", {"topic": "mine"}, "")
    assert _resolve_both_orders(room, state_a, state_b)[TOPIC] == room.id(topic)


@pytest.mark.parametrize("version", ["2", "11", "12"])
def test_higher_power_wins_a_power_level_conflict(version: str) -> None:
    """Two admins both edit power levels concurrently; each edit is valid on its branch.
    The one by the more powerful sender is applied first, so the other must pass auth
    after it — here it does not (it changes a user at the first admin's level)."""
    room = standard_room(version, users={BOB: 90, CAROL: 10})
    room.power_levels(ALICE, dict(room.state[PL]["content"], events={PL[0]: 50}))
    room.join(BOB)
    room.join(CAROL)
    base, prev = dict(room.state), list(room.extremities)
    by_alice, s1 = fork(room, base, prev, ALICE, "m.room.power_levels",
                        _pl(room, {BOB: 20, CAROL: 10}), "")
    _, s2 = fork(room, base, prev, BOB, "m.room.power_levels", _pl(room, {BOB: 90, CAROL: 80}), "")
    resolved = _resolve_both_orders(room, s1, s2)
    assert resolved[PL] == room.id(by_alice)


@pytest.mark.parametrize("version", ["2", "11", "12"])
def test_power_ordering_not_timestamps_decides_the_order(version: str) -> None:
    """Both edits stay valid whatever the order, so the one applied *last* wins. The
    reverse topological power ordering puts the more powerful sender first, so Bob's
    edit wins although it is older (ordering by timestamp would pick Alice's)."""
    room = standard_room(version, users={BOB: 90, CAROL: 10})
    room.power_levels(ALICE, dict(room.state[PL]["content"], events={PL[0]: 50}))
    room.join(BOB)
    room.join(CAROL)
    base, prev = dict(room.state), list(room.extremities)
    by_bob, s2 = fork(room, base, prev, BOB, "m.room.power_levels",
                      _pl(room, {BOB: 90, CAROL: 30}), "")
    by_alice, s1 = fork(room, base, prev, ALICE, "m.room.power_levels",
                        _pl(room, {BOB: 90, CAROL: 20}), "")
    assert by_bob["origin_server_ts"] < by_alice["origin_server_ts"]
    assert _resolve_both_orders(room, s1, s2)[PL] == room.id(by_bob)


@pytest.mark.parametrize("version", ["2", "11", "12"])
def test_mainline_ordering_of_other_events(version: str) -> None:
    """Two concurrent topics: the one authorised by the newer power levels (later in the
    mainline) is applied last and wins, even though it is the older event."""
    room = standard_room(version, users={CAROL: 10})
    base, prev = dict(room.state), list(room.extremities)
    pl1, after_pl1 = fork(room, base, prev, ALICE, "m.room.power_levels",
                          _pl(room, {CAROL: 20}), "")
    topic_a, state_a = fork(room, after_pl1, [room.id(pl1)], ALICE, "m.room.topic",
                            {"topic": "a"}, "")
    topic_b, state_b = fork(room, base, prev, ALICE, "m.room.topic", {"topic": "b"}, "")
    assert topic_a["origin_server_ts"] < topic_b["origin_server_ts"]
    resolved = _resolve_both_orders(room, state_a, state_b)
    assert resolved[PL] == room.id(pl1)
    assert resolved[TOPIC] == room.id(topic_a)


@pytest.mark.parametrize("version", ["1", "2", "12"])
def test_trivial_inputs(version: str) -> None:
    room = standard_room(version)
    state = ids(room, room.state)
    assert resolve_state([], room.events, room.rv) == {}
    assert resolve_state([state], room.events, room.rv) == state
    assert resolve_state([state, dict(state)], room.events, room.rv) == state


@pytest.mark.parametrize("version", ["2", "12"])
def test_three_way_fork_with_joins(version: str) -> None:
    room = standard_room(version)
    base, prev = dict(room.state), list(room.extremities)
    j1, s1 = fork(room, base, prev, BOB, "m.room.member", {"membership": "join"}, BOB)
    j2, s2 = fork(room, base, prev, CAROL, "m.room.member", {"membership": "join"}, CAROL)
    _, s3 = fork(room, base, prev, ALICE, "m.room.name", {"name": "n"}, "")
    resolved = _resolve_both_orders(room, s1, s2, s3)
    assert resolved[("m.room.member", BOB)] == room.id(j1)
    assert resolved[CAROL_MEMBER] == room.id(j2)
    assert ("m.room.name", "") in resolved


@pytest.mark.parametrize("version", [str(n) for n in range(2, 13)])
def test_join_rules_change_beats_concurrent_join(version: str) -> None:
    """Alice makes the room invite-only while Carol joins it on another branch: the
    join rules are a power event, applied first, and Carol's join then fails."""
    room = standard_room(version)
    base, prev = dict(room.state), list(room.extremities)
    rules, s1 = fork(room, base, prev, ALICE, "m.room.join_rules", {"join_rule": "invite"}, "")
    _, s2 = fork(room, base, prev, CAROL, "m.room.member", {"membership": "join"}, CAROL)
    resolved = _resolve_both_orders(room, s1, s2)
    assert resolved[("m.room.join_rules", "")] == room.id(rules)
    assert CAROL_MEMBER not in resolved


def test_v1_lets_a_join_through_a_concurrent_join_rules_change() -> None:
    """In v1 a key that only one branch has is no conflict, so Carol's join is kept
    without an auth check against the new join rules: one of the bugs v2 fixed."""
    room = standard_room("1")
    base, prev = dict(room.state), list(room.extremities)
    rules, s1 = fork(room, base, prev, ALICE, "m.room.join_rules", {"join_rule": "invite"}, "")
    join, s2 = fork(room, base, prev, CAROL, "m.room.member", {"membership": "join"}, CAROL)
    resolved = _resolve_both_orders(room, s1, s2)
    assert resolved[("m.room.join_rules", "")] == room.id(rules)
    assert resolved[CAROL_MEMBER] == room.id(join)


def test_v1_membership_conflicts_do_not_see_each_other() -> None:
    """v1 checks every membership conflict against R as the join rules pass left it, as
    Synapse does, where conflicted keys have no value yet: Bob's kick of Carol finds no
    membership of Bob's, although Bob's own conflict (a display name change) is resolved
    first in key order. Resolving them one after another would let the kick through."""
    room = standard_room("1", users={BOB: 50})
    room.join(BOB)
    room.join(CAROL)
    base, prev = dict(room.state), list(room.extremities)
    rename, s1 = fork(room, base, prev, BOB, "m.room.member",
                      {"membership": "join", "displayname": "Bob"}, BOB)
    _, s2 = fork(room, base, prev, BOB, "m.room.member", {"membership": "leave"}, CAROL)
    resolved = _resolve_both_orders(room, s1, s2)
    assert resolved[("m.room.member", BOB)] == room.id(rename)
    assert resolved[CAROL_MEMBER] == room.id(base[CAROL_MEMBER])


@pytest.mark.parametrize("version", ["2", "11", "12"])
def test_topic_of_a_banned_user_is_reset(version: str) -> None:
    """Synapse's "topic reset": on one branch Bob sets the topic and Alice then bans him;
    the other branch still has Alice's older topic. The ban applies first, so Bob's
    topic no longer passes and Alice's older one is the room's topic."""
    room = standard_room(version, users={BOB: 50})
    room.join(BOB)
    t1 = room.send(ALICE, "m.room.topic", {"topic": "T1"}, "")
    base, prev = dict(room.state), list(room.extremities)
    t2, after_t2 = fork(room, base, prev, BOB, "m.room.topic", {"topic": "T2"}, "")
    ban, after_ban = fork(room, after_t2, [room.id(t2)], ALICE, "m.room.member",
                          {"membership": "ban"}, BOB)
    resolved = _resolve_both_orders(room, after_ban, base)
    assert resolved[("m.room.member", BOB)] == room.id(ban)
    assert resolved[TOPIC] == room.id(t1)


@pytest.mark.parametrize("version", ["2", "11", "12"])
def test_topics_on_the_same_mainline_position_go_by_timestamp(version: str) -> None:
    """Two topics authorised by the same power levels: the later ``origin_server_ts`` is
    applied last and wins, whichever branch was built first."""
    room = standard_room(version, users={BOB: 50})
    room.join(BOB)
    base, prev = dict(room.state), list(room.extremities)
    room.ts = 5000
    later, s1 = fork(room, base, prev, ALICE, "m.room.topic", {"topic": "later"}, "")
    room.ts = 2000
    _, s2 = fork(room, base, prev, BOB, "m.room.topic", {"topic": "earlier"}, "")
    assert _resolve_both_orders(room, s1, s2)[TOPIC] == room.id(later)


@pytest.mark.parametrize("version", ["2", "11", "12"])
def test_topics_with_the_same_timestamp_go_by_event_id(version: str) -> None:
    """Same mainline position and timestamp: the greater event ID is applied last."""
    room = standard_room(version, users={BOB: 50})
    room.join(BOB)
    base, prev = dict(room.state), list(room.extremities)
    room.ts = 5000
    a, s1 = fork(room, base, prev, ALICE, "m.room.topic", {"topic": "a"}, "")
    room.ts = 5000
    b, s2 = fork(room, base, prev, BOB, "m.room.topic", {"topic": "b"}, "")
    assert a["origin_server_ts"] == b["origin_server_ts"]
    winner = max(room.id(a), room.id(b))
    assert _resolve_both_orders(room, s1, s2)[TOPIC] == winner


@pytest.mark.parametrize("version", ["2", "11", "12"])
def test_demoted_moderator_topic_loses_to_mainline(version: str) -> None:
    """Bob, a moderator, sets the topic on a branch that never saw Alice demote him;
    on Alice's branch the topic she set after the demotion is based on the newer power
    levels. Bob's topic fails against the resolved power levels."""
    room = standard_room(version, users={BOB: 50})
    room.join(BOB)
    base, prev = dict(room.state), list(room.extremities)
    demote, after = fork(room, base, prev, ALICE, "m.room.power_levels", _pl(room, {BOB: 0}), "")
    mine, s1 = fork(room, after, [room.id(demote)], ALICE, "m.room.topic", {"topic": "A"}, "")
    room.ts += 100  # Bob's topic is the newer one: that alone does not let it win.
    _, s2 = fork(room, base, prev, BOB, "m.room.topic", {"topic": "B"}, "")
    resolved = _resolve_both_orders(room, s1, s2)
    assert resolved[PL] == room.id(demote)
    assert resolved[TOPIC] == room.id(mine)


# --- the definitions on synthetic DAGs -----------------------------------------------


def _dag(edges: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    return {
        eid: {"type": "t", "state_key": eid, "auth_events": parents, "sender": "@u:x"}
        for eid, parents in edges.items()
    }


def test_split_state() -> None:
    s1 = {("a", ""): "$1", ("b", ""): "$2", ("c", ""): "$5"}
    s2 = {("a", ""): "$1", ("b", ""): "$3"}
    unconflicted, conflicted = split_state([s1, s2])
    assert unconflicted == {("a", ""): "$1"}
    assert conflicted == {"$2", "$3", "$5"}


def test_auth_difference() -> None:
    # A state set's full auth chain holds its own events too (as Synapse computes it).
    events = _dag({"A": [], "B": ["A"], "C": ["B"], "D": ["A"]})
    assert auth_difference([{("x", ""): "C"}, {("x", ""): "D"}], events) == {"B", "C", "D"}


def test_auth_difference_leaves_out_an_unconflicted_auth_event() -> None:
    """B is in both state sets; only the first set's C cites it. Counting only auth
    chains, B would be in the difference although nothing conflicts over it."""
    events = _dag({"A": [], "B": ["A"], "C": ["B"], "D": ["A"]})
    first = {("b", ""): "B", ("x", ""): "C"}
    second = {("b", ""): "B", ("x", ""): "D"}
    assert auth_difference([first, second], events) == {"C", "D"}


def test_conflicted_subgraph() -> None:
    # E → C → B → A, D → A, F → E.  Conflicted: E and B.
    events = _dag({"A": [], "B": ["A"], "C": ["B"], "D": ["A"], "E": ["C"], "F": ["E"]})
    assert conflicted_subgraph({"E", "B"}, events) == {"E", "C", "B"}
    assert conflicted_subgraph({"D", "B"}, events) == {"D", "B"}


def test_power_events() -> None:
    def member(sender: str, target: str, membership: str) -> dict[str, Any]:
        return {"type": "m.room.member", "state_key": target, "sender": sender,
                "content": {"membership": membership}}

    assert is_power_event({"type": "m.room.power_levels", "state_key": "", "content": {}})
    assert is_power_event({"type": "m.room.join_rules", "state_key": "", "content": {}})
    assert is_power_event(member(ALICE, BOB, "ban"))
    assert is_power_event(member(ALICE, BOB, "leave"))
    assert not is_power_event(member(BOB, BOB, "leave"))
    assert not is_power_event(member(BOB, BOB, "join"))
    assert not is_power_event({"type": "m.room.topic", "state_key": "", "content": {}})
    assert not is_power_event({"type": "m.room.power_levels", "content": {}})
