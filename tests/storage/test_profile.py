"""The profile store on the engine under test."""

from __future__ import annotations

import pytest

from glia.storage import Storage
from glia.storage.profile import Profile
from tests.storage.helpers import uid


async def _account(storage: Storage, displayname: str | None) -> str:
    user_id = f"@{uid('p')}:test"
    async with storage.transaction() as tx:
        await tx.users.create(user_id, None, admin=False, user_type=None, creation_ts=1)
        await tx.profile.create(user_id, displayname)
    return user_id


async def test_round_trip_and_unicode(shared: Storage) -> None:
    user_id = await _account(shared, "Zoë 🐝 Ñandú")
    assert await shared.profile.get(user_id) == Profile("Zoë 🐝 Ñandú", None)
    await shared.profile.set_avatar_url(user_id, "mxc://test/abc")
    await shared.profile.set_displayname(user_id, "x" * 256)
    assert await shared.profile.get(user_id) == Profile("x" * 256, "mxc://test/abc")


async def test_clearing_sets_null(shared: Storage) -> None:
    user_id = await _account(shared, "Name")
    await shared.profile.set_avatar_url(user_id, "mxc://test/a")
    await shared.profile.set_displayname(user_id, None)
    await shared.profile.set_avatar_url(user_id, None)
    assert await shared.profile.get(user_id) == Profile(None, None)
    # An empty name is kept as given, not folded into NULL.
    await shared.profile.set_displayname(user_id, "")
    assert await shared.profile.get(user_id) == Profile("", None)


async def test_setters_touch_only_their_user(shared: Storage) -> None:
    a = await _account(shared, "A")
    b = await _account(shared, "B")
    await shared.profile.set_displayname(a, "A2")
    assert await shared.profile.get(b) == Profile("B", None)
    # Unknown users have no profile, and setting one does not create it.
    await shared.profile.set_displayname("@ghost:test", "Ghost")
    assert await shared.profile.get("@ghost:test") is None


async def test_profile_needs_an_account_and_is_unique(shared: Storage) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the foreign key to users
        await shared.profile.create("@nobody-here:test", "x")
    user_id = await _account(shared, "once")
    with pytest.raises(Exception):  # noqa: B017 - the primary key
        await shared.profile.create(user_id, "twice")
    assert await shared.profile.get(user_id) == Profile("once", None)
