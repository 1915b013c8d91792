"""Local media rows on the engine under test: pending IDs, uploads, thumbnails,
quarantine by ID and by hash with its change feed, protection, the user's media list,
deletes, sweeps, and the URLs still in use."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.media import Media, QuarantineChange, Thumbnail
from tests.storage.helpers import MAX_SAFE, event, member, room, uid


async def test_pending_ids(shared: Storage) -> None:
    u = f"@{uid('u')}:test"
    m = shared.media
    a, b = uid("m"), uid("m")
    await m.create_pending(a, u, 100)
    await m.create_pending(b, u, 200)
    assert await m.count_pending(u, 99) == (2, 100)
    assert await m.count_pending(u, 100) == (1, 200)
    assert await m.count_pending(f"@{uid('none')}:test", 0) == (0, None)
    pending = await m.get(a)
    assert pending == Media(a, u, None, None, None, 100, None, None, False, None)
    assert pending is not None and pending.pending
    # Filling: only the owner, only while pending and unexpired.
    assert not await m.fill_pending(a, "@thief:test", "image/png", None, 5, "h", None, 0)
    assert not await m.fill_pending(a, u, "image/png", None, 5, "h", None, 100)
    assert await m.fill_pending(a, u, "image/png", "ä.png", 5, "h", None, 99)
    assert not await m.fill_pending(a, u, "image/gif", None, 6, "h2", None, 0)
    assert await m.get(a) == Media(a, u, "image/png", "ä.png", 5, 100, "h", None, False, None)


async def test_authenticated_is_kept_from_creation(shared: Storage) -> None:
    """The flag is decided when the row is made (a /create ID keeps it through its
    upload); rows default to unauthenticated."""
    u = f"@{uid('u')}:test"
    m = shared.media
    made, plain, pending = uid("m"), uid("m"), uid("m")
    await m.insert(made, u, "text/plain", None, 1, 5, "h", None, authenticated=True)
    await m.insert(plain, u, "text/plain", None, 1, 5, "h", None)
    await m.create_pending(pending, u, 100, authenticated=True)
    assert await m.fill_pending(pending, u, "image/png", None, 5, "h", None, 99)
    flags = {x.media_id: x.authenticated for x in (await m.page_by_user(
        u, "media_id", False, 0, 10))[0]}
    assert flags == {made: True, plain: False, pending: True}
    got = await m.get(made)
    assert got is not None and got.authenticated


async def test_delete_expired_pending(storage: Storage) -> None:
    m = storage.media
    await m.create_pending("old", "@u:test", 10)
    await m.create_pending("edge", "@u:test", 20)
    await m.insert("uploaded", "@u:test", "text/plain", None, 1, 5, "h", None)
    assert await m.delete_expired_pending(20) == 1
    assert await m.existing(["old", "edge", "uploaded"]) == ["edge", "uploaded"]


async def test_insert_touch_and_thumbnails(shared: Storage) -> None:
    mid = uid("m")
    m = shared.media
    await m.insert(mid, "@u:test", "image/png", None, MAX_SAFE, 1, "sha", "@admin:test")
    await m.touch(mid, MAX_SAFE)
    got = await m.get(mid)
    assert got == Media(mid, "@u:test", "image/png", None, MAX_SAFE, 1, "sha", "@admin:test",
                        False, MAX_SAFE)
    t1 = Thumbnail(mid, 320, 240, "scale", 320, 200, "image/jpeg", 1000)
    t2 = Thumbnail(mid, 32, 32, "crop", 32, 32, "image/png", 100)
    assert await m.add_thumbnail(t1, 5)
    assert await m.add_thumbnail(t2, 5)
    # The same box again replaces the row.
    t1b = Thumbnail(mid, 320, 240, "scale", 300, 240, "image/webp", 900)
    assert await m.add_thumbnail(t1b, 6)
    assert await m.thumbnails(mid) == [t2, t1b]
    assert await m.thumbnail(mid, 320, 240, "scale") == t1b
    assert await m.thumbnail(mid, 320, 240, "crop") is None
    # The media row is gone: no thumbnail row is made.
    assert not await m.add_thumbnail(Thumbnail(uid("gone"), 1, 1, "crop", 1, 1, "x", 1), 7)


async def test_quarantine_by_hash_and_the_feed(storage: Storage) -> None:
    m = storage.media
    for mid, sha in (("a", "same"), ("b", "same"), ("c", "other"), ("d", "same"),
                     ("e", None)):
        await m.insert(mid, "@u:test", "image/png", None, 1, 1, sha, None)  # type: ignore[arg-type]
    await m.set_protected("d", True)
    assert await m.quarantine_position() == 0
    assert await m.quarantine([], "@admin:test") == 0
    assert await m.quarantine(["a", "e"], "@admin:test") == 3
    assert [(x.media_id, x.quarantined_by) for x in
            [await m.get(i) for i in "abcde"] if x is not None] == [
        ("a", "@admin:test"), ("b", "@admin:test"), ("c", None), ("d", None),
        ("e", "@admin:test")]
    assert await m.hash_quarantined("same")
    assert not await m.hash_quarantined("other")
    # Already quarantined: nothing changes, nothing is fed, but the items are counted
    # (Synapse's count: every item the request covers).
    assert await m.quarantine(["a"], "@other:test") == 2
    assert (await m.get("a")).quarantined_by == "@admin:test"  # type: ignore[union-attr]
    # A protected item lends its hash to nothing.
    await m.insert("f", "@u:test", "image/png", None, 1, 1, "kept", None)  # type: ignore[arg-type]
    await m.insert("g", "@u:test", "image/png", None, 1, 1, "kept", None)  # type: ignore[arg-type]
    await m.set_protected("f", True)
    assert await m.quarantine(["f"], "@admin:test") == 0
    assert (await m.get("g")).quarantined_by is None  # type: ignore[union-attr]
    assert await m.unquarantine("b") == 2
    assert await m.unquarantine("b") == 0
    assert await m.quarantine_position() == 5
    changes = await m.quarantine_changes(0, 5, 10)
    assert [c.stream_id for c in changes] == [1, 2, 3, 4, 5]
    assert sorted(c.media_id for c in changes[:3]) == ["a", "b", "e"]
    assert all(c.quarantined for c in changes[:3])
    assert sorted((c.media_id, c.quarantined) for c in changes[3:]) == [
        ("a", False), ("b", False)]
    assert await m.quarantine_changes(3, 4, 10) == [changes[3]]
    assert await m.quarantine_changes(0, 5, 2) == changes[:2]
    assert await m.quarantine_changes(5, 5, 10) == []
    assert isinstance(changes[0], QuarantineChange)


async def test_user_media_list(storage: Storage) -> None:
    m = storage.media
    await m.insert("m2", "@u:test", "image/png", "b.png", 30, 2, "h", None)
    await m.insert("m1", "@u:test", "text/plain", None, 10, 3, "h", None)
    await m.create_pending("m3", "@u:test", 1)
    await m.insert("x", "@other:test", "image/png", None, 1, 1, "h", None)
    await m.touch("m1", 50)

    async def ids(order_by: str, backwards: bool = False, offset: int = 0,
                  limit: int = 10) -> tuple[list[str], int]:
        rows, total = await m.page_by_user("@u:test", order_by, backwards, offset, limit)
        return [r.media_id for r in rows], total

    assert await ids("created_ts") == (["m3", "m2", "m1"], 3)
    assert await ids("created_ts", offset=1, limit=1) == (["m2"], 3)
    assert await ids("created_ts", offset=3) == ([], 3)
    # NULL (a pending item's size, an unnamed upload) sorts as the smallest value.
    assert await ids("media_length") == (["m3", "m1", "m2"], 3)
    assert await ids("media_length", backwards=True) == (["m2", "m1", "m3"], 3)
    assert await ids("upload_name") == (["m1", "m3", "m2"], 3)
    assert await ids("last_access_ts", backwards=True) == (["m1", "m2", "m3"], 3)
    assert await m.user_media_ids("@u:test") == ["m1", "m2", "m3"]


async def test_delete_and_existing(storage: Storage) -> None:
    m = storage.media
    await m.insert("a", "@u:test", "image/png", None, 1, 1, "h", None)
    await m.insert("b", "@u:test", "image/png", None, 1, 1, "h", None)
    await m.add_thumbnail(Thumbnail("a", 1, 1, "crop", 1, 1, "image/png", 1), 1)
    assert await m.existing([]) == []
    assert await m.delete([]) == []
    assert await m.delete(["a", "zzz"]) == ["a"]
    assert await m.get("a") is None
    assert await m.thumbnails("a") == []
    assert await m.existing(["a", "b"]) == ["b"]


async def test_sweep_candidates(storage: Storage) -> None:
    m = storage.media
    rows = [("a", 100, 10, None), ("b", 100, 99, 5), ("c", 100, 5, 200), ("d", 5, 5, None),
            ("e", 100, 5, None), ("f", 100, 5, None), ("g", 100, 100, None)]
    for mid, size, created, _ in rows:
        await m.insert(mid, "@u:test", "x", None, size, created, f"h{mid}", None)
    for mid, _, _, accessed in rows:
        if accessed is not None:
            await m.touch(mid, accessed)
    await m.quarantine(["e"], "@admin:test")
    await m.set_protected("f", True)
    found = await m.sweep_candidates(before_ts=100, size_gt=50, after_media_id="", limit=10)
    # c was accessed recently, d is small, e quarantined, f protected, g created at the cut.
    assert [x.media_id for x in found] == ["a", "b"]
    assert [x.media_id for x in await m.sweep_candidates(100, 50, "a", 10)] == ["b"]
    assert [x.media_id for x in await m.sweep_candidates(100, 50, "", 1)] == ["a"]


async def test_urls_in_use(shared: Storage) -> None:
    prefix = f"mxc://test/{uid('p')}_"
    async with shared.transaction() as tx:
        r = await room(tx)
        await tx.admin_rooms.create_stats(r, None, True)
        u = f"@{uid('u')}:test"
        await tx.users.create(u, None, admin=False, user_type=None, creation_ts=1)
        await tx.profile.create(u, None)
        await tx.profile.set_avatar_url(u, prefix + "profile")
        await tx.admin_rooms.set_stat(r, "avatar", prefix + "room")
        await member(tx, r, "@m:test")
        e = await event(tx, r, sender="@m:test", type="m.room.member", state_key="@m:test",
                        content={"membership": "join", "avatar_url": prefix + "member"})
        await tx.state.set(r, "m.room.member", "@m:test", e.event_id, "join",
                           e.stream_ordering)
        # A member avatar no longer in current state does not count.
        old = await event(tx, r, sender="@n:test", type="m.room.member", state_key="@n:test",
                          content={"membership": "join", "avatar_url": prefix + "old"})
        await tx.state.set(r, "m.room.member", "@n:test", old.event_id, "join",
                           old.stream_ordering)
        await member(tx, r, "@n:test", "leave")
        m1 = await event(tx, r, content={"url": prefix + "file",
                                         "info": {"thumbnail_url": prefix + "thumb"}})
        await event(tx, r, type="m.room.encrypted", content={"url": prefix + "secret"})
        await event(tx, r, content={"url": "https://not-mxc/x"})
        await event(tx, r, content={"url": prefix + "last"})
    assert await shared.media.profile_urls(prefix) == {prefix + "profile", prefix + "room",
                                                       prefix + "member"}
    assert await shared.media.profile_urls(prefix.replace("_", "X")) == set()
    # Batches count the events read (encrypted ones are not read at all).
    urls, following = await shared.media.room_media_urls(r, m1.stream_ordering - 1, 2)
    assert urls == [prefix + "file", prefix + "thumb"]
    assert following is not None and following > m1.stream_ordering
    urls, following = await shared.media.room_media_urls(r, following, 2)
    assert (urls, following) == ([prefix + "last"], None)
