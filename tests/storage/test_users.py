"""The user stores on the engine under test: accounts (``UserStore``) and the admin API's
reads and writes of them (``AdminUserStore``): the list's filters, orders and pages,
flags, third-party and external IDs, and the user-redaction job's event selection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from glia.storage import Storage, open_storage
from glia.storage.users import AdminUserView, User, UserListQuery
from tests.storage.conftest import config_for
from tests.storage.helpers import MAX_SAFE, event, member, room, uid, user


async def test_create_and_get_round_trip(shared: Storage) -> None:
    user_id = f"@{uid('bob')}:test"
    created = await shared.users.create(user_id, "$2b$04$x", admin=True, user_type="bot",
                                        creation_ts=MAX_SAFE, is_guest=True)
    assert created == User(user_id, "$2b$04$x", True, "bot", True, False, False, MAX_SAFE)
    assert await shared.users.get(user_id) == created
    assert await shared.users.get(user_id.upper()) is None
    assert await shared.users.get("@nobody:test") is None


async def test_case_insensitive_existence_and_clash(shared: Storage) -> None:
    name = uid("carol")
    await shared.users.create(f"@{name}:test", None, admin=False, user_type=None,
                              creation_ts=1)
    assert await shared.users.exists_case_insensitive(f"@{name.upper()}:TEST")
    assert not await shared.users.exists_case_insensitive(f"@{name}x:test")
    with pytest.raises(Exception):  # noqa: B017 - the unique index on lower(user_id)
        await shared.users.create(f"@{name.upper()}:test", None, admin=False,
                                  user_type=None, creation_ts=1)


async def test_setters_change_one_user_only(shared: Storage) -> None:
    a = f"@{uid('a')}:test"
    b = f"@{uid('b')}:test"
    for user_id in (a, b):
        await shared.users.create(user_id, "h", admin=False, user_type=None, creation_ts=7)
    await shared.users.set_admin(a, True)
    await shared.users.set_locked(a, True)
    await shared.users.set_deactivated(a, True)
    await shared.users.set_user_type(a, "support")
    await shared.users.set_password_hash(a, None)
    assert await shared.users.get(a) == User(a, None, True, "support", False, True, True, 7)
    assert await shared.users.get(b) == User(b, "h", False, None, False, False, False, 7)
    # Unknown users: nothing happens, nothing is created.
    await shared.users.set_admin("@ghost:test", True)
    assert await shared.users.get("@ghost:test") is None


# -- the admin list ----------------------------------------------------------------------


async def _population(storage: Storage) -> None:
    """Six accounts with distinct flags (creation_ts = their position in the list)."""
    async with storage.transaction() as tx:
        for i, (name, display) in enumerate([
                ("alice", "Alice"), ("bob", None), ("carl_x", "zed"), ("dora", "bob's"),
                ("erin", "Erin"), ("fred", None)], start=1):
            await user(tx, name, displayname=display, creation_ts=i)
        await tx.users.set_admin("@alice:test", True)
        await tx.users.set_user_type("@bob:test", "bot")
        await tx.users.set_deactivated("@erin:test", True)
        await tx.users.set_locked("@fred:test", True)
        await tx.users.create("@guest:test", None, admin=False, user_type="support",
                              creation_ts=9, is_guest=True)
        await tx.devices.upsert("@alice:test", "A1", None, 1)
        await tx.devices.upsert("@alice:test", "A2", None, 1)
        await tx.devices.record_seen("@alice:test", "A1", 500, None, None, token_hash="a")
        await tx.devices.record_seen("@alice:test", "A2", 900, None, None, token_hash="b")
        await tx.admin_users.set_flag("@alice:test", "shadow_banned", True)
        await tx.profile.set_avatar_url("@alice:test", "mxc://test/a")


@pytest.fixture(scope="module")
def listed_url(new_database_url: Callable[[], str]) -> str:
    return new_database_url()


@pytest_asyncio.fixture(scope="module")
async def listed(listed_url: str) -> AsyncIterator[Storage]:
    """A database holding only the population above, for the list tests (read only)."""
    s = await open_storage(config_for(listed_url))
    await _population(s)
    try:
        yield s
    finally:
        await s.close()


async def _ids(storage: Storage, query: UserListQuery, offset: int = 0,
               limit: int = 100) -> tuple[list[str], int]:
    rows, total = await storage.admin_users.page(query, offset, limit)
    return [r.user_id for r in rows], total


async def test_list_filters(listed: Storage) -> None:
    active = ["@alice:test", "@bob:test", "@carl_x:test", "@dora:test", "@guest:test"]
    assert await _ids(listed, UserListQuery()) == (active, 5)
    assert await _ids(listed, UserListQuery(guests=False)) == (active[:4], 4)
    assert await _ids(listed, UserListQuery(deactivated=True)) == (["@erin:test"], 1)
    assert (await _ids(listed, UserListQuery(deactivated=None)))[1] == 6
    assert await _ids(listed, UserListQuery(include_locked=True)) == (
        [*active[:4], "@fred:test", "@guest:test"], 6)
    assert await _ids(listed, UserListQuery(admins=True)) == (["@alice:test"], 1)
    assert (await _ids(listed, UserListQuery(admins=False)))[1] == 4
    # user_type "" stands for "no type": excluding it leaves the typed accounts.
    assert await _ids(listed, UserListQuery(not_user_types=("",))) == (
        ["@bob:test", "@guest:test"], 2)
    assert await _ids(listed, UserListQuery(not_user_types=("bot", "support"))) == (
        ["@alice:test", "@carl_x:test", "@dora:test"], 3)


async def test_list_name_and_user_id_search(listed: Storage) -> None:
    # name: the localpart or the display name, case-insensitively.
    assert await _ids(listed, UserListQuery(name="BOB")) == (["@bob:test", "@dora:test"], 2)
    # The server name is not searched by ``name``; it is by ``user_id``.
    assert await _ids(listed, UserListQuery(name="test")) == ([], 0)
    assert (await _ids(listed, UserListQuery(user_id="TEST")))[1] == 5
    # LIKE wildcards are literal characters.
    assert await _ids(listed, UserListQuery(name="l_x")) == (["@carl_x:test"], 1)
    assert await _ids(listed, UserListQuery(name="%")) == ([], 0)
    assert await _ids(listed, UserListQuery(user_id="_")) == (["@carl_x:test"], 1)
    # ``name`` wins over ``user_id`` when both are given.
    assert await _ids(listed, UserListQuery(name="alice", user_id="bob")) == (
        ["@alice:test"], 1)


async def test_list_order_and_pages(listed: Storage) -> None:
    q = UserListQuery(guests=False)
    assert await _ids(listed, q, offset=1, limit=2) == (["@bob:test", "@carl_x:test"], 4)
    assert await _ids(listed, q, offset=3, limit=2) == (["@dora:test"], 4)
    assert await _ids(listed, q, offset=4, limit=2) == ([], 4)
    back = UserListQuery(guests=False, backwards=True)
    assert (await _ids(listed, back))[0] == ["@dora:test", "@carl_x:test", "@bob:test",
                                              "@alice:test"]
    by_ts = UserListQuery(guests=False, order_by="creation_ts", backwards=True)
    assert (await _ids(listed, by_ts, limit=2))[0] == ["@dora:test", "@carl_x:test"]
    # Ties break on the user ID, ascending, whichever the direction.
    by_admin = UserListQuery(guests=False, order_by="admin", backwards=True)
    assert (await _ids(listed, by_admin))[0] == ["@alice:test", "@bob:test",
                                                  "@carl_x:test", "@dora:test"]


async def test_list_orders_nulls_first_on_both_engines(listed: Storage) -> None:
    """A missing display name, type or last-seen time sorts as the smallest value."""
    q = UserListQuery(guests=False, order_by="displayname")
    assert (await _ids(listed, q))[0] == ["@bob:test", "@alice:test", "@dora:test",
                                           "@carl_x:test"]
    q = UserListQuery(guests=False, order_by="displayname", backwards=True)
    assert (await _ids(listed, q))[0] == ["@carl_x:test", "@dora:test", "@alice:test",
                                           "@bob:test"]
    q = UserListQuery(guests=False, order_by="user_type", backwards=True)
    assert (await _ids(listed, q))[0] == ["@bob:test", "@alice:test", "@carl_x:test",
                                           "@dora:test"]
    q = UserListQuery(guests=False, order_by="last_seen_ts")
    assert (await _ids(listed, q))[0] == ["@bob:test", "@carl_x:test", "@dora:test",
                                           "@alice:test"]


async def test_view(listed: Storage) -> None:
    assert await listed.admin_users.view("@alice:test") == AdminUserView(
        "@alice:test", "Alice", "mxc://test/a", True, None, False, False, False, False,
        True, False, 1, 900)
    view = await listed.admin_users.view("@bob:test")
    assert view is not None and (view.displayname, view.last_seen_ts) == (None, None)
    assert await listed.admin_users.view("@nobody:test") is None


async def test_flags_and_restrictions(shared: Storage) -> None:
    async with shared.transaction() as tx:
        a = await user(tx)
    store = shared.admin_users
    assert await store.restrictions(a) == (False, False)
    await store.set_flag(a, "suspended", True)
    assert await store.restrictions(a) == (True, False)
    await store.set_flag(a, "shadow_banned", True)
    await store.set_flag(a, "suspended", False)
    assert await store.restrictions(a) == (False, True)
    await store.set_flag(a, "erased", True)
    view = await store.view(a)
    assert view is not None and (view.erased, view.shadow_banned, view.suspended) == (
        True, True, False)
    assert await store.restrictions("@ghost:test") == (False, False)
    with pytest.raises(ValueError):
        await store.set_flag(a, "admin", True)


async def test_threepids(shared: Storage) -> None:
    async with shared.transaction() as tx:
        a, b = await user(tx), await user(tx)
    store = shared.admin_users
    mail = f"{uid('m')}@example.org"
    await store.replace_threepids(a, [("msisdn", "4412345"), ("email", mail)], 10)
    assert [dict(r) for r in await store.threepids(a)] == [
        {"medium": "email", "address": mail, "added_at": 10, "validated_at": 10},
        {"medium": "msisdn", "address": "4412345", "added_at": 10, "validated_at": 10}]
    assert await store.threepid_owner("email", mail) == a
    assert await store.threepid_owner("email", mail.upper()) is None
    # Replacing is complete: what is not listed goes; an address owned elsewhere moves.
    await store.replace_threepids(b, [("email", mail)], 20)
    assert await store.threepid_owner("email", mail) == b
    assert [r["medium"] for r in await store.threepids(a)] == ["msisdn"]
    await store.replace_threepids(a, [], 30)
    assert await store.threepids(a) == []
    await store.delete_threepids(b)
    assert await store.threepid_owner("email", mail) is None


async def test_external_ids(shared: Storage) -> None:
    async with shared.transaction() as tx:
        a, b = await user(tx), await user(tx)
    store = shared.admin_users
    sub = uid("sub")
    await store.replace_external_ids(a, [("oidc", sub), ("github", "ünïcode")])
    assert [dict(r) for r in await store.external_ids(a)] == [
        {"auth_provider": "github", "external_id": "ünïcode"},
        {"auth_provider": "oidc", "external_id": sub}]
    assert await store.external_id_owner("oidc", sub) == a
    assert await store.external_id_owner("OIDC", sub) is None
    # Another account cannot take an ID that is in use.
    with pytest.raises(Exception):  # noqa: B017 - the primary key
        async with shared.transaction() as tx:
            await tx.admin_users.replace_external_ids(b, [("oidc", sub)])
    assert await store.external_ids(b) == []
    await store.replace_external_ids(a, [("oidc", sub)])
    assert [r["auth_provider"] for r in await store.external_ids(a)] == ["oidc"]


async def test_events_to_redact(shared: Storage) -> None:
    async with shared.transaction() as tx:
        r = await room(tx)
        me, other = f"@{uid('me')}:test", f"@{uid('other')}:test"
        join = await member(tx, r, me, ts=100)
        msg = await event(tx, r, sender=me, ts=200)
        await event(tx, r, sender=other, ts=210)
        enc = await event(tx, r, sender=me, type="m.room.encrypted", ts=300)
        await event(tx, r, sender=me, type="m.room.name", state_key="", ts=310)
        redacted = await event(tx, r, sender=me, ts=400)
        await tx.events.redact(redacted.event_id, {"type": "m.room.message"}, {}, "$x",
                               original=redacted.pdu, room_id=r, redacted_ts=1)
        leave = await member(tx, r, me, "leave", ts=500)
        # A member event of the user that is not theirs to redact: an invite of another.
        await member(tx, r, other, "invite", sender=me, ts=600)
    store = shared.admin_users
    assert leave.event_id not in await store.events_to_redact(me, r, 10, None, None)
    assert await store.events_to_redact(me, r, 10, None, None) == [
        enc.event_id, msg.event_id, join.event_id]
    # The limit counts redacted events too (they are the newest here).
    assert await store.events_to_redact(me, r, 2, None, None) == [enc.event_id]
    # Time bounds are inclusive.
    assert await store.events_to_redact(me, r, 10, 200, 300) == [enc.event_id,
                                                                 msg.event_id]
    assert await store.events_to_redact(me, r, 10, 301, None) == []
    assert await store.events_to_redact(other, r, 10, None, None) != []
    assert await store.events_to_redact(me, "!elsewhere:test", 10, None, None) == []
