"""The admin statistics store on the engine under test: media use per uploader (range,
search, orders with NULL names, pages), the largest rooms, invites sent and rooms
joined."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.statistics import RoomSize, UserMediaQuery, UserMediaUsage
from tests.storage.helpers import event, member, room


async def _media(storage: Storage) -> None:
    async with storage.transaction() as tx:
        for user_id, name in (("@ann:test", "Zed"), ("@bob:test", None), ("@c_d:test", "amy")):
            await tx.users.create(user_id, None, admin=False, user_type=None, creation_ts=1)
            await tx.profile.create(user_id, name)
        m = tx.media
        await m.insert("a1", "@ann:test", "x", None, 10, 100, "h", None)
        await m.insert("a2", "@ann:test", "x", None, 2**40, 200, "h", None)
        await m.insert("b1", "@bob:test", "x", None, 5, 150, "h", None)
        await m.insert("c1", "@c_d:test", "x", None, 7, 300, "h", None)
        await m.create_pending("c2", "@c_d:test", 150)  # Not an upload yet.
        await m.insert("o1", "@orphan:test", "x", None, 1, 150, "h", None)  # No profile.


async def test_user_media_usage(storage: Storage) -> None:
    await _media(storage)
    st = storage.statistics

    async def page(query: UserMediaQuery, offset: int = 0, limit: int = 10
                   ) -> tuple[list[str], int]:
        rows, total = await st.user_media_page(query, offset, limit)
        return [r.user_id for r in rows], total

    rows, total = await st.user_media_page(UserMediaQuery(), 0, 10)
    assert (rows, total) == ([
        UserMediaUsage("@ann:test", "Zed", 2, 2**40 + 10),
        UserMediaUsage("@bob:test", None, 1, 5),
        UserMediaUsage("@c_d:test", "amy", 1, 7),
        UserMediaUsage("@orphan:test", None, 1, 1)], 4)
    # The time range is inclusive at both ends.
    assert await page(UserMediaQuery(from_ts=150, until_ts=200)) == (
        ["@ann:test", "@bob:test", "@orphan:test"], 3)
    rows, _ = await st.user_media_page(UserMediaQuery(from_ts=150, until_ts=200), 0, 1)
    assert rows == [UserMediaUsage("@ann:test", "Zed", 1, 2**40)]
    assert await page(UserMediaQuery(search_term="AMY")) == (["@c_d:test"], 1)
    assert await page(UserMediaQuery(search_term="_")) == (["@c_d:test"], 1)
    assert await page(UserMediaQuery(search_term="test")) == ([], 0)
    assert await page(UserMediaQuery(order_by="media_length", backwards=True), limit=2) == (
        ["@ann:test", "@c_d:test"], 4)
    assert await page(UserMediaQuery(order_by="media_count"), offset=1, limit=2) == (
        ["@c_d:test", "@orphan:test"], 4)
    # No display name sorts as the smallest value; ties on the user ID.
    assert await page(UserMediaQuery(order_by="displayname")) == (
        ["@bob:test", "@orphan:test", "@ann:test", "@c_d:test"], 4)
    assert await page(UserMediaQuery(order_by="displayname", backwards=True)) == (
        ["@c_d:test", "@ann:test", "@bob:test", "@orphan:test"], 4)


async def test_largest_rooms(storage: Storage) -> None:
    async with storage.transaction() as tx:
        small, big, other = await room(tx), await room(tx), await room(tx)
        await event(tx, small, content={"body": "x"})
        for _ in range(3):
            await event(tx, big, content={"body": "ü" * 100})
        await event(tx, other, content={"body": "x"})
    sizes = {r.room_id: r.estimated_size for r in await storage.statistics.largest_rooms(10)}
    rows = await storage.db.fetchall(
        "SELECT room_id, pdu, unsigned FROM events")
    expected: dict[str, int] = {}
    for row in rows:
        expected[row["room_id"]] = expected.get(row["room_id"], 0) + len(row["pdu"]) + len(
            row["unsigned"])
    assert sizes == expected
    top = await storage.statistics.largest_rooms(2)
    # Characters, not bytes: both engines count "ü" once.
    assert top[0] == RoomSize(big, expected[big])
    assert top[1].room_id == min(small, other)
    assert expected[small] == expected[other]


async def test_invites_and_joins(storage: Storage) -> None:
    async with storage.transaction() as tx:
        r1, r2 = await room(tx), await room(tx)
        await member(tx, r1, "@me:test", ts=100)
        await member(tx, r1, "@x:test", "invite", sender="@me:test", ts=150)
        await member(tx, r1, "@y:test", "invite", sender="@me:test", ts=250)
        await member(tx, r1, "@z:test", "invite", sender="@other:test", ts=260)
        await member(tx, r1, "@me:test", "leave", ts=300)
        await member(tx, r1, "@me:test", ts=400)
        await member(tx, r2, "@me:test", ts=500)
    st = storage.statistics
    assert await st.sent_invite_count("@me:test", 0) == 2
    assert await st.sent_invite_count("@me:test", 250) == 1
    assert await st.sent_invite_count("@me:test", 251) == 0
    assert await st.joined_room_count("@me:test", 0) == 2
    assert await st.joined_room_count("@me:test", 401) == 1
    assert await st.joined_room_count("@me:test", 501) == 0
    assert await st.joined_room_count("@x:test", 0) == 0
