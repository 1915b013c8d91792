"""The wake-up index of a room's local joined members (``services/notifier.py``), over a
real database: loaded from current state, kept by membership changes applied in any
order, and waking exactly those members."""

from __future__ import annotations

import asyncio

from glia.services.notifier import MemberChange, Notifier, RoomMembers
from glia.storage import Storage
from tests.storage.helpers import member, room, uid


async def test_loads_local_joined_members_and_keeps_the_newest_change(shared: Storage) -> None:
    r = await room(shared)
    alice, bob, carol = (f"@{uid('u')}:test" for _ in range(3))
    await member(shared, r, alice)
    await member(shared, r, bob)
    await member(shared, r, carol, "invite")
    await member(shared, r, f"@{uid('u')}:elsewhere")  # remote: no /sync here
    index = RoomMembers(shared, "test")
    loaded = await index.members(r)
    assert {u for u, (_, joined) in loaded.items() if joined} == {alice, bob}

    dave = f"@{uid('u')}:test"
    # Two writers' subscribers ran out of order: the leave (newer) must win.
    index.apply([MemberChange(r, dave, 20, False), MemberChange(r, dave, 10, True)])
    index.apply([MemberChange(r, carol, 30, True), MemberChange(r, bob, 31, False)])
    now = await index.members(r)
    assert {u for u, (_, joined) in now.items() if joined} == {alice, carol}


async def test_a_room_wakes_its_joined_members_only(shared: Storage) -> None:
    r = await room(shared)
    alice, bob = (f"@{uid('u')}:test" for _ in range(2))
    await member(shared, r, alice)
    await member(shared, r, bob, "leave")
    notifier = Notifier(RoomMembers(shared, "test"))
    woken = asyncio.ensure_future(notifier.wait(alice, 30))
    asleep = asyncio.ensure_future(notifier.wait(bob, 0.5))
    await asyncio.sleep(0)  # both are waiting
    await notifier.notify(rooms=[r])
    assert await woken is True
    assert await asleep is False  # not woken: answered at its timeout
