"""Current state read by (type, state_key) on the engine under test: only the asked keys,
each at its current value, whatever else the room's state holds."""

from __future__ import annotations

from glia.storage import Storage
from tests.storage.helpers import room


async def test_current_ids_by_key_reads_only_the_asked_keys(shared: Storage) -> None:
    async with shared.transaction() as tx:
        r, other = await room(tx), await room(tx)
    st = shared.state
    await st.set(r, "m.room.create", "", "$c", None, 1)
    await st.set(r, "m.room.power_levels", "", "$p1", None, 2)
    for i in range(50):
        await st.set(r, "m.room.member", f"@u{i}:test", f"$m{i}", "join", 3 + i)
    await st.set(r, "m.room.power_levels", "", "$p2", None, 60)
    await st.set(other, "m.room.join_rules", "", "$elsewhere", None, 61)
    keys = [("m.room.create", ""), ("m.room.power_levels", ""), ("m.room.member", "@u7:test"),
            ("m.room.member", "@nobody:test"), ("m.room.join_rules", ""),
            ("m.room.create", "")]
    want = {("m.room.create", ""): "$c", ("m.room.power_levels", ""): "$p2",
            ("m.room.member", "@u7:test"): "$m7"}
    assert await st.current_ids_by_key(r, keys) == want
    assert await st.current_ids(r, keys) == want
    assert await st.current_ids_by_key(r, []) == {}
    assert await st.current_ids_by_key(other, keys) == {("m.room.join_rules", ""): "$elsewhere"}


async def test_current_ids_by_key_takes_more_keys_than_one_query_holds(shared: Storage
                                                                       ) -> None:
    """SQLite allows 500 terms in one compound SELECT: a long list of keys (a lazy-loading
    sync's senders) is read in parts."""
    async with shared.transaction() as tx:
        r = await room(tx)
    for i in range(700):
        await shared.state.set(r, "m.room.member", f"@k{i}:test", f"$k{i}", "join", i + 1)
    keys = [("m.room.member", f"@k{i}:test") for i in range(0, 1400, 2)]
    assert await shared.state.current_ids_by_key(r, keys) == {
        ("m.room.member", f"@k{i}:test"): f"$k{i}" for i in range(0, 700, 2)}


async def test_member_changes_are_the_rooms_membership_events_in_the_range(shared: Storage
                                                                          ) -> None:
    async with shared.transaction() as tx:
        r, other = await room(tx), await room(tx)
    st = shared.state
    await st.set(r, "m.room.member", "@a:test", "$a1", "join", 10)
    await st.set(r, "m.room.name", "", "$n", None, 11)
    await st.set(other, "m.room.member", "@a:test", "$o", "join", 12)
    await st.set(r, "m.room.member", "@b:test", "$b1", "invite", 13)
    await st.set(r, "m.room.member", "@a:test", "$a2", "leave", 14)
    await st.set(r, "m.room.member", "@b:test", "$b2", "join", 15)
    changes = await st.member_changes(r, 10, 14)
    assert [(m.user_id, m.membership, m.event_id, s) for m, s in changes] == [
        ("@b:test", "invite", "$b1", 13), ("@a:test", "leave", "$a2", 14)]


async def test_a_membership_dropped_from_the_state_is_a_change(shared: Storage) -> None:
    """State resolution may end a member's row without a new one: whoever keeps a
    room's members up to date from its changes must see that member go."""
    async with shared.transaction() as tx:
        r = await room(tx)
    st = shared.state
    await st.set(r, "m.room.member", "@a:test", "$a1", "join", 10)
    await st.set(r, "m.room.member", "@b:test", "$b1", "join", 11)
    await st.unset(r, "m.room.member", "@a:test", 12)
    await st.set(r, "m.room.member", "@b:test", "$b2", "leave", 13)
    changes = await st.member_changes(r, 11, 13)
    assert [(m.user_id, m.membership, m.event_id, s) for m, s in changes] == [
        ("@a:test", "leave", "$a1", 12), ("@b:test", "leave", "$b2", 13)]
