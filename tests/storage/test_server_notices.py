"""Server notices on the engine under test: each user's notices room and idempotent
sends."""

from __future__ import annotations

from glia.storage import Storage
from tests.storage.helpers import uid


async def test_room_of(shared: Storage) -> None:
    u = f"@{uid('u')}:test"
    store = shared.server_notices
    assert await store.room_of(u) is None
    await store.set_room(u, "!first:test")
    await store.set_room(u, "!second:test")
    assert await store.room_of(u) == "!second:test"
    assert await store.room_of(u.upper()) is None


async def test_sent_is_recorded_once(shared: Storage) -> None:
    token = uid("hash")
    store = shared.server_notices
    assert await store.sent(token, "txn") is None
    await store.record_sent(token, "txn", "$first")
    # A second record of the same transaction keeps the first event.
    await store.record_sent(token, "txn", "$second")
    assert await store.sent(token, "txn") == "$first"
    assert await store.sent(token, "TXN") is None
    assert await store.sent(uid("other"), "txn") is None
