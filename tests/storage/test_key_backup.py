"""Server-side key backups on the engine under test: version numbering (deleted versions
are never reused), etags, and the room keys of a version."""

from __future__ import annotations

import asyncio

from glia.storage import Storage
from glia.storage.key_backup import BackupVersion, RoomKey
from tests.storage.helpers import MAX_SAFE, uid


def _key(room: str, session: str, index: int = 0, data: str = "d") -> RoomKey:
    return RoomKey(room, session, index, 1, False, {"ciphertext": data})


async def test_versions(shared: Storage) -> None:
    u = f"@{uid('u')}:test"
    kb = shared.key_backup
    assert await kb.current_version(u) is None
    assert await kb.create_version(u, "m.megolm_backup.v1", {"public_key": "ü"}) == 1
    assert await kb.create_version(u, "alg2", {}) == 2
    assert await kb.create_version(f"@{uid('v')}:test", "alg", {}) == 1
    assert await kb.current_version(u) == BackupVersion(u, 2, "alg2", {}, 0, False)
    await kb.mark_deleted(u, 2)
    assert await kb.current_version(u) == BackupVersion(u, 1, "m.megolm_backup.v1",
                                                        {"public_key": "ü"}, 0, False)
    assert await kb.get_version(u, 2) == BackupVersion(u, 2, "alg2", {}, 0, True)
    # A deleted number is not handed out again.
    assert await kb.create_version(u, "alg3", {}) == 3
    await kb.set_auth_data(u, 3, {"signatures": {"x": MAX_SAFE}})
    assert await kb.bump_etag(u, 3) == 1
    assert await kb.bump_etag(u, 3) == 2
    assert await kb.get_version(u, 3) == BackupVersion(u, 3, "alg3",
                                                       {"signatures": {"x": MAX_SAFE}}, 2, False)
    assert await kb.get_version(u, 4) is None


async def test_concurrent_creations_take_distinct_numbers(shared: Storage) -> None:
    u = f"@{uid('u')}:test"

    async def create() -> int:
        async with shared.transaction() as tx:
            return await tx.key_backup.create_version(u, "alg", {})

    assert sorted(await asyncio.gather(*(create() for _ in range(5)))) == [1, 2, 3, 4, 5]


async def test_room_keys(shared: Storage) -> None:
    u = f"@{uid('u')}:test"
    kb = shared.key_backup
    v = await kb.create_version(u, "alg", {})
    await kb.put_key(u, v, _key("!b:test", "s1"))
    await kb.put_key(u, v, _key("!a:test", "s2"))
    await kb.put_key(u, v, _key("!a:test", "s1", data="ü"))
    await kb.put_key(u, v, RoomKey("!a:test", "s1", 3, 2, True, {"ciphertext": "new"}))
    assert await kb.count(u, v) == 3
    assert [(k.room_id, k.session_id) for k in await kb.keys(u, v)] == [
        ("!a:test", "s1"), ("!a:test", "s2"), ("!b:test", "s1")]
    assert await kb.get_key(u, v, "!a:test", "s1") == RoomKey("!a:test", "s1", 3, 2, True,
                                                              {"ciphertext": "new"})
    assert await kb.get_key(u, v, "!a:test", "nope") is None
    assert [k.session_id for k in await kb.keys(u, v, room_id="!a:test")] == ["s1", "s2"]
    assert await kb.delete_keys(u, v, room_id="!a:test", session_id="s2") == 1
    assert await kb.delete_keys(u, v, room_id="!zzz:test") == 0
    assert await kb.delete_keys(u, v, room_id="!a:test") == 1
    assert await kb.count(u, v) == 1
    # Deleting the version deletes its keys.
    await kb.mark_deleted(u, v)
    assert await kb.count(u, v) == 0
    assert await kb.delete_keys(u, v) == 0
