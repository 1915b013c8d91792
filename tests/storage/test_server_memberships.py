"""One remote server's users' memberships in a room, on the engine under test: only
users whose server part is exactly that server, every interval, oldest first."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.state import StateInterval
from tests.storage.helpers import room, uid


async def test_intervals_of_one_servers_users(shared: Storage) -> None:
    async with shared.transaction() as tx:
        r = await room(tx)
    server = f"{uid('srv')}.example:8448"
    bob, carol = f"@{uid('bob')}:{server}", f"@{uid('carol')}:{server}"
    # Users of look-alike servers: a suffix with a port, a LIKE wildcard, a subdomain.
    others = [f"@{uid('x')}:8448", f"@{uid('y')}:{server.replace('.', '_')}",
              f"@{uid('z')}:sub.{server}"]
    st = shared.state
    await st.set(r, "m.room.member", bob, "$b1", "invite", 10)
    await st.set(r, "m.room.member", bob, "$b2", "join", 11)
    await st.set(r, "m.room.member", carol, "$c1", "join", 12)
    for i, user in enumerate(others):
        await st.set(r, "m.room.member", user, f"$o{i}", "join", 13 + i)
    await st.set(r, "m.room.name", "", "$n", None, 20)
    found = await shared.server_memberships.intervals(r, server)
    assert found == {
        bob: [StateInterval("$b1", "invite", 10, 11), StateInterval("$b2", "join", 11, None)],
        carol: [StateInterval("$c1", "join", 12, None)],
    }
    assert await shared.server_memberships.intervals(r, "8448") == {
        others[0]: [StateInterval("$o0", "join", 13, None)]}
    assert await shared.server_memberships.intervals(r, "nobody.example") == {}
