"""Space-hierarchy pagination sessions on the engine under test."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.spaces import HierarchySession
from tests.storage.helpers import uid


async def test_round_trip_and_age(shared: Storage) -> None:
    token = uid("tok")
    session = HierarchySession("@a:test", "!space:test", True, None, False,
                               [("!b:test", 2, ["b.test", "ä.test"]), ("!ä:test", 1, [])],
                               ["!space:test"], 1_000)
    await shared.spaces.save_session(token, session)
    assert await shared.spaces.session(token, 999) == session
    # Only sessions created strictly after the cut count.
    assert await shared.spaces.session(token, 1_000) is None
    assert await shared.spaces.session(uid("other"), 0) is None
    deep = HierarchySession("@a:test", "!s:test", False, 7, True, [], [], 2_000)
    await shared.spaces.save_session(token + "x", deep)
    assert await shared.spaces.session(token + "x", 0) == deep


async def test_delete_sessions_before(storage: Storage) -> None:
    for i, ts in enumerate((10, 19, 20, 30)):
        await storage.spaces.save_session(f"t{i}", HierarchySession(
            "@a:test", "!s:test", False, None, False, [], [], ts))
    assert await storage.spaces.delete_sessions_before(20) == 2
    assert await storage.spaces.delete_sessions_before(20) == 0
    assert [await storage.spaces.session(f"t{i}", 0) is not None for i in range(4)] == [
        False, False, True, True]
