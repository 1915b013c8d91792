"""User-interactive authentication sessions on the engine under test."""

from __future__ import annotations

import pytest

from glia.storage import Storage
from glia.storage.uia import UiaSession
from tests.storage.helpers import MAX_SAFE, uid


async def test_round_trip_and_completed_stages(shared: Storage) -> None:
    sid = uid("s")
    await shared.uia.create(sid, "POST /register ü", None, MAX_SAFE)
    assert await shared.uia.get(sid) == UiaSession(sid, "POST /register ü", None, [],
                                                   MAX_SAFE)
    await shared.uia.set_completed(sid, ["m.login.dummy", "m.login.password"])
    session = await shared.uia.get(sid)
    assert session is not None and session.completed == ["m.login.dummy",
                                                          "m.login.password"]
    assert await shared.uia.get(sid.upper()) is None


async def test_sessions_are_unique_and_deletable(shared: Storage) -> None:
    sid = uid("s")
    await shared.uia.create(sid, "scope", "@a:test", 1)
    with pytest.raises(Exception):  # noqa: B017 - the primary key
        await shared.uia.create(sid, "other", None, 2)
    session = await shared.uia.get(sid)
    assert session is not None and (session.scope, session.user_id) == ("scope", "@a:test")
    await shared.uia.delete(sid)
    assert await shared.uia.get(sid) is None
    await shared.uia.delete(sid)  # Deleting twice is harmless.


async def test_sweep_keeps_sessions_at_or_after_the_cut(shared: Storage) -> None:
    old, edge = uid("s"), uid("s")
    await shared.uia.create(old, "s", None, 10_000_000_000)
    await shared.uia.create(edge, "s", None, 10_000_000_001)
    await shared.uia.sweep(older_than=10_000_000_001)
    assert await shared.uia.get(old) is None
    assert await shared.uia.get(edge) is not None
