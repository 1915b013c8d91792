"""Room state on the engine under test: the current state and every earlier one as
deltas over stream positions, memberships, counts and heroes."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.state import Membership, StateInterval
from tests.storage.helpers import room, uid


async def _room(storage: Storage) -> str:
    async with storage.transaction() as tx:
        return await room(tx)


async def test_set_replaces_and_history_stays(shared: Storage) -> None:
    r = await _room(shared)
    st = shared.state
    assert await st.set(r, "m.room.name", "", "$n1", None, 10) is None
    assert await st.set(r, "m.room.topic", "", "$t1", None, 11) is None
    assert await st.set(r, "m.room.name", "", "$n2", None, 12) == "$n1"
    assert await st.current_ids(r) == {("m.room.name", ""): "$n2", ("m.room.topic", ""): "$t1"}
    assert await st.current_ids(r, [("m.room.topic", ""), ("m.room.x", "")]) == {
        ("m.room.topic", ""): "$t1"}
    assert await st.current_ids(r, []) == {}
    # After the event at a stream: from_stream inclusive, to_stream exclusive.
    assert await st.ids_at(r, 9) == {}
    assert await st.ids_at(r, 10) == {("m.room.name", ""): "$n1"}
    assert await st.ids_at(r, 11) == {("m.room.name", ""): "$n1", ("m.room.topic", ""): "$t1"}
    assert await st.ids_at(r, 12, types=["m.room.name"]) == {("m.room.name", ""): "$n2"}
    assert await st.ids_at(r, 12, types=[]) == await st.ids_at(r, 12)
    assert await st.intervals(r, "m.room.name", "") == [
        StateInterval("$n1", None, 10, 12), StateInterval("$n2", None, 12, None)]
    assert await st.intervals(r, "m.room.name", "x") == []


async def test_members_and_memberships(shared: Storage) -> None:
    r, other = await _room(shared), await _room(shared)
    st = shared.state
    a, b, c = (f"@{uid(n)}:test" for n in "abc")
    await st.set(r, "m.room.member", a, "$a1", "join", 10)
    await st.set(r, "m.room.member", b, "$b1", "invite", 11)
    await st.set(r, "m.room.member", c, "$c1", "join", 12)
    await st.set(r, "m.room.member", b, "$b2", "join", 13)
    await st.set(r, "m.room.member", c, "$c2", "leave", 14)
    await st.set(other, "m.room.member", a, "$a9", "ban", 15)
    await st.set(r, "m.room.name", "", "$name", None, 16)
    now = await st.members_at(r, None)
    assert now == sorted([Membership(r, a, "join", "$a1"), Membership(r, b, "join", "$b2"),
                          Membership(r, c, "leave", "$c2")], key=lambda m: m.user_id)
    assert [m.user_id for m in await st.members_at(r, 12, memberships=["join"])] == sorted(
        [a, c])
    assert [m.membership for m in await st.members_at(r, 12, not_memberships=["join"])] == [
        "invite"]
    assert await st.members_at(r, None, memberships=[], not_memberships=[]) == now
    assert await st.membership_of(r, b) == Membership(r, b, "join", "$b2")
    assert await st.membership_of(r, f"@{uid('x')}:test") is None
    assert await st.rooms_of_user(a, ["join", "ban"]) == sorted(
        [Membership(r, a, "join", "$a1"), Membership(other, a, "ban", "$a9")],
        key=lambda m: m.room_id)
    assert await st.rooms_of_user(a, ["leave"]) == []
    assert await st.joined_count(r) == 2
    assert await st.member_counts(r) == {"join": 2, "leave": 1}
    assert await st.member_counts(f"!{uid('none')}:test") == {}
    changes = await st.membership_changes(b, 10, 13)
    assert changes == [(Membership(r, b, "invite", "$b1"), 11),
                       (Membership(r, b, "join", "$b2"), 13)]
    assert await st.membership_changes(b, 13, 100) == []


async def test_rooms_of_user_with_no_memberships_is_empty(shared: Storage) -> None:
    r = await _room(shared)
    u = f"@{uid('u')}:test"
    await shared.state.set(r, "m.room.member", u, "$j", "join", 1)
    assert await shared.state.rooms_of_user(u, []) == []


async def test_heroes(shared: Storage) -> None:
    r = await _room(shared)
    st = shared.state
    for i, (name, membership) in enumerate([("e", "join"), ("me", "join"), ("a", "invite"),
                                            ("d", "leave"), ("c", "join"), ("b", "ban"),
                                            ("f", "join")]):
        await st.set(r, "m.room.member", f"@{name}:test", f"$h{i}", membership, 20 + i)
    assert await st.heroes(r, "@me:test") == ["@a:test", "@c:test", "@e:test", "@f:test"]
    assert await st.heroes(r, "@me:test", limit=2) == ["@a:test", "@c:test"]
    assert await st.heroes(r, "@a:test", limit=2) == ["@c:test", "@e:test"]


async def test_unset_and_state_after_event_overrides(shared: Storage) -> None:
    """State resolution may leave a key with no value; a forked event's own state is
    kept as its difference from the history at its position."""
    r = await _room(shared)
    st = shared.state
    await st.set(r, "m.room.topic", "", "$t1", None, 20)
    assert await st.unset(r, "m.room.topic", "", 21) == "$t1"
    assert await st.unset(r, "m.room.topic", "", 22) is None
    assert await st.current_ids(r) == {}
    assert await st.ids_at(r, 20) == {("m.room.topic", ""): "$t1"}
    assert await st.set(r, "m.room.topic", "", "$t2", None, 23) is None
    e1, e2 = f"$e{uid('1')}", f"$e{uid('2')}"
    await st.put_after_event_overrides(r, e1, {("m.room.topic", ""): "$t1",
                                                ("m.room.name", ""): None})
    await st.put_after_event_overrides(r, e2, {})
    assert await st.after_event_overrides([e1, e2, "$none"]) == {
        e1: {("m.room.topic", ""): "$t1", ("m.room.name", ""): None}}
    assert await st.after_event_overrides([]) == {}


async def test_state_anchors(shared: Storage) -> None:
    r, other = await _room(shared), await _room(shared)
    st = shared.state
    e = f"$e{uid('a')}"
    await st.put_state_anchor(r, e, 42)
    await st.put_state_anchor(r, e, 43)  # kept from the first time
    assert await st.state_anchors(r, [e, "$none"]) == {e: 42}
    assert await st.state_anchors(other, [e]) == {}
    assert await st.state_anchors(r, []) == {}
