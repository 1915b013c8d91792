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
