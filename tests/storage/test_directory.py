"""Room aliases on the engine under test."""

from __future__ import annotations

import pytest

from glia.storage import Storage
from glia.storage.directory import Alias
from tests.storage.helpers import room, uid


async def _rooms(storage: Storage, n: int) -> list[str]:
    async with storage.transaction() as tx:
        return [await room(tx) for _ in range(n)]


async def test_create_is_first_come(shared: Storage) -> None:
    r1, r2 = await _rooms(shared, 2)
    alias = f"#{uid('ålias')}:test"
    assert await shared.directory.create_alias(alias, r1, "@a:test", 1)
    assert not await shared.directory.create_alias(alias, r2, "@b:test", 2)
    assert await shared.directory.get_alias(alias) == Alias(alias, r1, "@a:test")
    # Aliases are case-sensitive.
    assert await shared.directory.get_alias(alias.upper()) is None
    assert await shared.directory.create_alias(alias.upper(), r2, "@b:test", 2)


async def test_alias_needs_a_room(shared: Storage) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the foreign key to rooms
        await shared.directory.create_alias(f"#{uid('a')}:test", "!no-room:test", "@a:test", 1)


async def test_aliases_of_delete_and_move(shared: Storage) -> None:
    old, new, other = await _rooms(shared, 3)
    names = [f"#{uid(p)}:test" for p in ("b", "a", "c")]
    for alias in names:
        await shared.directory.create_alias(alias, old, "@a:test", 1)
    await shared.directory.create_alias(f"#{uid('o')}:test", other, "@a:test", 1)
    assert await shared.directory.aliases_of(old) == sorted(names)
    await shared.directory.delete_alias(names[0])
    await shared.directory.delete_alias(names[0])
    assert await shared.directory.get_alias(names[0]) is None
    moved = await shared.directory.move_aliases(old, new)
    assert moved == sorted(names[1:])
    assert await shared.directory.aliases_of(old) == []
    assert await shared.directory.aliases_of(new) == sorted(names[1:])
    assert len(await shared.directory.aliases_of(other)) == 1
    found = await shared.directory.get_alias(names[1])
    assert found is not None and found.room_id == new
    assert await shared.directory.move_aliases(old, new) == []
