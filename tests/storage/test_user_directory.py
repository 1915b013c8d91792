"""The user directory store on both engines: whom a search finds (shared rooms, public
rooms, everyone), word-prefix matching, excluded accounts, and the remote-user upkeep a
rebuild and the event subscriber rely on (no federation yet, so these users only exist
here)."""

from __future__ import annotations

from glia.config import Config
from glia.services.jobs import JobsService
from glia.services.user_directory import UserDirectoryService
from glia.storage import Storage
from glia.storage.user_directory import DirectoryEntry

LOCAL = ":localhost"


async def _user(storage: Storage, localpart: str, name: str | None,
                user_type: str | None = None) -> str:
    user_id = f"@{localpart}{LOCAL}"
    await storage.users.create(user_id, None, admin=False, user_type=user_type,
                               creation_ts=0)
    await storage.user_directory.upsert(DirectoryEntry(user_id, name, None))
    return user_id


async def _room(storage: Storage, room_id: str, members: list[str], stream: int) -> None:
    await storage.rooms.create(room_id, "12", members[0], 0)
    for i, user_id in enumerate(members):
        await storage.state.set(room_id, "m.room.member", user_id, f"$j{stream}-{i}",
                                "join", stream + i)


async def test_search_scope_and_matching(storage: Storage) -> None:
    me = await _user(storage, "me", "Me")
    friend = await _user(storage, "friend", "Zoë Rivers")
    public = await _user(storage, "pubby", "Zoe Public")
    stranger = await _user(storage, "aa.zoltan", None)  # sorts first, has no name
    support = await _user(storage, "zsupport", "Zoe Support", user_type="support")
    gone = await _user(storage, "zgone", "Zoe Gone")
    await storage.users.set_deactivated(gone, True)
    await _room(storage, "!private:localhost", [me, friend, support, gone], 10)
    await _room(storage, "!public:localhost", [public], 20)
    await storage.user_directory.set_room_public("!public:localhost", True)

    store = storage.user_directory

    async def ids(words: list[str], all_users: bool = False, limit: int = 10) -> list[str]:
        return [e.user_id for e in await store.search(me, words, all_users, limit)]

    # Diacritics and case folded: "zoe" finds Zoë; then by user ID.
    assert await ids(["zoe"]) == [friend, public]
    assert await ids(["riv"]) == [friend]
    assert await ids(["ivers"]) == []  # word prefixes only
    assert await ids(["zoe", "pub"]) == [public]
    assert await ids(["friend"]) == [friend]  # the user ID's words
    assert await ids(["zoe"], limit=1) == [friend]
    # Everyone (but deactivated and support accounts) with all_users; users with a
    # display name first.
    assert await ids(["zo"], all_users=True) == [friend, public, stranger]
    await store.set_room_public("!public:localhost", False)
    assert await ids(["zoe"]) == [friend]


async def test_remote_users_kept_to_public_profiles(storage: Storage) -> None:
    config = Config()
    service = UserDirectoryService(config, storage, JobsService(storage, config.jobs))
    me = await _user(storage, "me2", "Me")
    remote = "@remy:elsewhere.example"
    await _room(storage, "!shared:localhost", [me, remote], 30)
    # A join to a room that is not public: listed, but without its room nickname.
    await service.member_changed("!shared:localhost", remote,
                                 {"membership": "join", "displayname": "Secret nick"})
    [entry] = await storage.user_directory.search(me, ["remy"], False, 10)
    assert entry == DirectoryEntry(remote, None, None)
    assert await storage.user_directory.search(me, ["secret"], True, 10) == []
    assert await storage.user_directory.remote_members(LOCAL, "", 10) == [(remote, None)]

    # Once joined nowhere, the entry goes (the subscriber, and a rebuild's sweep).
    await storage.state.set("!shared:localhost", "m.room.member", remote, "$leave",
                            "leave", 40)
    await service.member_changed("!shared:localhost", remote, {"membership": "leave"})
    assert await storage.user_directory.search(me, ["remy"], True, 10) == []
    await storage.user_directory.upsert(DirectoryEntry(remote, "Stale", None))
    assert await storage.user_directory.remove_remote_absent(LOCAL) == 1
    assert await storage.user_directory.search(me, ["stale"], True, 10) == []
