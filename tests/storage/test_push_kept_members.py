"""Push evaluation keeps each room's joined members from one event to the next: it must
bring them up to date with what changed since, including changes another process wrote
(here a second writer and evaluator on the same database) and a member that state
resolution dropped from the state without a membership event."""

from __future__ import annotations

import pytest

from glia.config import Config
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS
from glia.protocol.signing import generate_signing_key
from glia.services.event_fanout import EventFanout
from glia.services.events import EventRequest, EventsService
from glia.services.push_evaluation import PushEvaluator
from glia.storage import Storage
from glia.storage.state import Membership, StateStore
from tests.storage.test_push_big_room import QuietGateway

ALICE, BOB, CAROL, DAN = "@alice:test", "@bob:test", "@carol:test", "@dan:test"
#: Members never mentioned: the outcome most members share (stored room-wide) is theirs,
#: so each highlighted recipient gets a row of their own.
QUIET = ["@erin:test", "@fay:test", "@gus:test"]


def writer_of(storage: Storage) -> EventsService:
    """One process's event writer with its own push evaluator (its own kept members)."""
    evaluator = PushEvaluator("test", storage, QuietGateway(storage, "test"))
    return EventsService(Config(server_name="test"), storage, generate_signing_key(),
                         persist_steps=[], fanout=EventFanout(storage, [evaluator]))


async def counts(storage: Storage, user_id: str, room_id: str) -> tuple[int, int]:
    """(notifications, highlights) of the user in the room."""
    return (await storage.push.unread_counts(user_id, [room_id])).get(room_id, (0, 0))


async def test_members_changed_elsewhere_are_seen_at_the_next_event(storage: Storage
                                                                    ) -> None:
    one, other = writer_of(storage), writer_of(storage)
    room_id, _ = await one.create_room(ALICE, KNOWN_ROOM_VERSIONS["12"], {}, lambda r: [
        EventRequest(ALICE, "m.room.member", {"membership": "join"}, state_key=ALICE),
        EventRequest(ALICE, "m.room.join_rules", {"join_rule": "public"}, state_key="")])

    def join(user_id: str) -> EventRequest:
        return EventRequest(user_id, "m.room.member", {"membership": "join"},
                            state_key=user_id)

    def mention(*user_ids: str) -> EventRequest:
        """A message that highlights each of ``user_ids`` who is a recipient."""
        return EventRequest(ALICE, "m.room.message", {
            "msgtype": "m.text", "body": "hello", "m.mentions": {"user_ids": list(user_ids)}})

    for user_id in (BOB, DAN, *QUIET):
        await one.send(room_id, join(user_id))
    await one.send(room_id, mention(BOB))  # the first writer now keeps the members
    assert await counts(storage, BOB, room_id) == (1, 1)
    # Carol joins and Bob leaves through the other writer; Dan's membership is dropped
    # from the state (as state resolution may) at a position of its own.
    await other.send(room_id, join(CAROL))
    await other.send(room_id, EventRequest(BOB, "m.room.member", {"membership": "leave"},
                                           state_key=BOB))
    async with storage.transaction() as tx:
        await tx.state.unset(room_id, "m.room.member", DAN, await tx.next_stream_position())
    last = await one.send(room_id, mention(BOB, CAROL, DAN))
    assert await counts(storage, CAROL, room_id) == (1, 1)
    assert await counts(storage, BOB, room_id) == (0, 0)  # leaving read the room
    # Counts are read against memberships; the recipients show in the rows written.
    rows = await storage.engine.fetchall(
        "SELECT user_id FROM push_notifications WHERE stream = ? AND highlight",
        last.stream_ordering)
    assert [r["user_id"] for r in rows] == [CAROL]


async def test_joins_after_a_message_do_not_reread_the_changes_since(
        storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    """A member event with everyone on the default rules needs no member list; it must
    not read the membership changes since the members were kept either (each join of a
    bulk join would read every join before it)."""
    writer = writer_of(storage)
    room_id, _ = await writer.create_room(ALICE, KNOWN_ROOM_VERSIONS["12"], {}, lambda r: [
        EventRequest(ALICE, "m.room.member", {"membership": "join"}, state_key=ALICE),
        EventRequest(ALICE, "m.room.join_rules", {"join_rule": "public"}, state_key="")])
    await writer.send(room_id, EventRequest(ALICE, "m.room.message",
                                            {"msgtype": "m.text", "body": "kept"}))
    read: list[int] = []
    changes = StateStore.member_changes

    async def counted(self: StateStore, room: str, after: int, upto: int
                      ) -> list[tuple[Membership, int]]:
        found = await changes(self, room, after, upto)
        read.append(len(found))
        return found

    monkeypatch.setattr(StateStore, "member_changes", counted)
    for i in range(20):
        user_id = f"@joiner{i}:test"
        await writer.send(room_id, EventRequest(user_id, "m.room.member",
                                                {"membership": "join"}, state_key=user_id))
    assert sum(read) <= 20, read


async def test_a_renamed_or_redacted_member_is_looked_for_by_their_new_name(
        storage: Storage) -> None:
    """The members' display names are kept, indexed, between events: a new name (a new
    member event) and a redacted member event (no name) must be seen at once."""
    writer = writer_of(storage)
    room_id, _ = await writer.create_room(ALICE, KNOWN_ROOM_VERSIONS["12"], {}, lambda r: [
        EventRequest(ALICE, "m.room.member", {"membership": "join"}, state_key=ALICE),
        EventRequest(ALICE, "m.room.join_rules", {"join_rule": "public"}, state_key="")])

    async def named(name: str) -> str:
        member = await writer.send(room_id, EventRequest(
            BOB, "m.room.member", {"membership": "join", "displayname": name},
            state_key=BOB))
        return member.event_id

    async def highlighted(body: str) -> bool:
        sent = await writer.send(room_id, EventRequest(
            ALICE, "m.room.message", {"msgtype": "m.text", "body": body}))
        rows = await storage.engine.fetchall(
            "SELECT user_id FROM push_notifications WHERE stream = ? AND highlight",
            sent.stream_ordering)
        room_wide = await storage.engine.fetchval(
            "SELECT highlight FROM push_room_notifications WHERE stream = ?",
            sent.stream_ordering)
        return [r["user_id"] for r in rows] == [BOB] or bool(room_wide)

    for user_id in QUIET:
        await writer.send(room_id, EventRequest(user_id, "m.room.member",
                                                {"membership": "join"}, state_key=user_id))
    await named("Zed")
    assert await highlighted("hi zed")
    member_event = await named("Yan")
    assert not await highlighted("hi zed again")
    assert await highlighted("hi yan")
    await writer.send(room_id, EventRequest(ALICE, "m.room.redaction", {},
                                            redacts=member_event))
    assert not await highlighted("hi yan again")
