"""Push evaluation in a 300-member room on the engine under test: the notification rows,
highlights and unread counts of every member are what the per-member evaluator
(tests/push_reference.py) says, for members with their own rules (a keyword, a
disabled server-default rule, a room rule, changed actions) and display names with
regular-expression characters, unicode, or inside other words."""

from __future__ import annotations

from typing import Any

from glia.config import Config
from glia.protocol.power_levels import room_creators, user_level
from glia.protocol.push_rules import (
    DefaultRuleChange,
    EventFacts,
    PowerFacts,
    PushRule,
    build_ruleset,
    effective_actions,
    highlights,
    notifies,
)
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS
from glia.protocol.signing import generate_signing_key
from glia.services.event_fanout import EventFanout
from glia.services.events import EventRequest, EventsService
from glia.services.push_evaluation import PushEvaluator
from glia.services.push_gateway import PushGateway
from glia.storage import Storage
from tests.push_reference import reference_evaluate

ALICE = "@alice:test"
V12 = KNOWN_ROOM_VERSIONS["12"]
NAMES = ["a.b*", "Zoë", "al", "Alice Cooper", "日本", "c++", "(x)", "Mary Ann", "ΣΊΣΥΦΟΣ",
         "lunch", None]
KEYWORD = PushRule("content", "lunch", ("notify", {"set_tweak": "highlight"}),
                   pattern="lunch")
OVERRIDES: dict[int, tuple[list[PushRule], dict[tuple[str, str], DefaultRuleChange]]] = {
    3: ([KEYWORD], {}),
    4: ([KEYWORD], {}),
    5: ([], {("override", ".m.rule.contains_display_name"): DefaultRuleChange(enabled=False)}),
    6: ([PushRule("room", "", ())], {}),  # the room's ID is filled in below
    7: ([], {("underride", ".m.rule.message"): DefaultRuleChange(
        actions=("notify", {"set_tweak": "highlight", "value": True}))}),
    8: ([], {("override", ".m.rule.master"): DefaultRuleChange(enabled=True)}),
}


class QuietGateway(PushGateway):
    def wake(self) -> None:
        pass


def member(i: int) -> str:
    return f"@m{i}:test"


def display_name(i: int) -> str | None:
    return NAMES[i % len(NAMES)]


async def test_every_member_gets_what_their_own_rules_say(storage: Storage) -> None:
    evaluator = PushEvaluator("test", storage, QuietGateway(storage, "test"))
    writer = EventsService(Config(server_name="test"), storage, generate_signing_key(),
                           persist_steps=[], fanout=EventFanout(storage, [evaluator]))
    room_id, _ = await writer.create_room(ALICE, V12, {}, lambda room_id: [
        EventRequest(ALICE, "m.room.member", {"membership": "join"}, state_key=ALICE),
        EventRequest(ALICE, "m.room.join_rules", {"join_rule": "public"}, state_key="")])
    own: dict[str, tuple[list[PushRule], dict[tuple[str, str], DefaultRuleChange]]] = {}
    async with storage.transaction() as tx:
        for i, (rules, changes) in OVERRIDES.items():
            rules = [PushRule("room", room_id, r.actions) if r.kind == "room" else r
                     for r in rules]
            own[member(i)] = (rules, changes)
            for rule in rules:
                await tx.push.upsert_rule(member(i), rule, keep_enabled=False)
            for (kind, rule_id), change in changes.items():
                await tx.push.change_default_rule(member(i), kind, rule_id,
                                                  enabled=change.enabled,
                                                  actions=change.actions)
            await tx.push.mark_rules_changed(member(i), await tx.next_stream_position())
    members = [member(i) for i in range(300)]
    for i, user_id in enumerate(members):
        content: dict[str, Any] = {"membership": "join"}
        if display_name(i) is not None:
            content["displayname"] = display_name(i)
        await writer.send(room_id, EventRequest(user_id, "m.room.member", content,
                                                state_key=user_id))

    messages = [
        {"msgtype": "m.text", "body": "a.b* and ZOË, but not alice; Mary Ann (x)"},
        {"msgtype": "m.text", "body": "zoë: lunch?", "m.mentions": {"user_ids": [member(2)]}},
        {"msgtype": "m.text", "body": "c++ and 日本 at @room"},
        {"msgtype": "m.notice", "body": "a.b* lunch"},
        {"msgtype": "m.text", "body": "everyone", "m.mentions": {"room": True}},
        {"msgtype": "m.text", "body": "xal alx a.bc Alice Cooperation ΣΊΣΥΦΟΣ"},
    ]
    sent = [await writer.send(room_id, EventRequest(ALICE, "m.room.message", body))
            for body in messages]

    create = (await storage.events.get_many(
        [(await storage.state.current_ids(room_id, [("m.room.create", "")]))[
            ("m.room.create", "")]]))
    creators = room_creators(next(iter(create.values())).pdu, V12)
    power = PowerFacts(user_level(None, ALICE, creators, V12), None, V12)
    expected: dict[str, list[tuple[str, bool]]] = {u: [] for u in members}
    for event in sent:
        facts = EventFacts({**event.pdu, "event_id": event.event_id, "room_id": room_id},
                           len(members) + 1, power)
        for i, user_id in enumerate(members):
            rules, changes = own.get(user_id, ([], {}))
            rule = reference_evaluate(build_ruleset(user_id, rules, changes), facts,
                                      display_name(i))
            actions = effective_actions(rule.actions) if rule is not None else []
            if notifies(actions):
                expected[user_id].append((event.event_id, highlights(actions)))

    highlighted = 0
    for user_id in members:
        rows = await storage.push.notifications(user_id, None, 100, False)
        got = sorted((n.event_id, n.highlight) for n in rows)
        assert got == sorted(expected[user_id]), user_id
        want = expected[user_id]
        counts = await storage.push.unread_counts(user_id, [room_id])
        assert counts.get(room_id, (0, 0)) == \
            ((len(want), sum(h for _, h in want)) if want else (0, 0))
        highlighted += sum(h for _, h in want)
    # The room is one where mentions by name matter at all.
    assert highlighted > len(members) // 2
    # Each message is stored once for the members its outcome is common to, and per
    # member only for those it does not fit (a highlight, rules of their own).
    last = sent[-1]
    outcome = {u: dict(expected[u]).get(last.event_id) for u in members}
    common = max(set(outcome.values()), key=list(outcome.values()).count)
    assert await storage.engine.fetchval(
        "SELECT COUNT(*) FROM push_room_notifications WHERE stream = ?",
        last.stream_ordering) == 1
    assert await storage.engine.fetchval(
        "SELECT COUNT(*) FROM push_notifications WHERE stream = ?", last.stream_ordering
    ) == sum(o != common for o in outcome.values()) < len(members) // 5
    # The master rule silences; a silent room rule leaves only the mention overrides.
    assert expected[member(8)] == []
    assert expected[member(6)] and all(h for _, h in expected[member(6)])


async def test_rules_of_members_are_the_joined_members_at_the_event(storage: Storage) -> None:
    writer = EventsService(Config(server_name="test"), storage, generate_signing_key(),
                           persist_steps=[], fanout=EventFanout(storage, []))
    room_id, _ = await writer.create_room(ALICE, V12, {}, lambda room_id: [
        EventRequest(ALICE, "m.room.member", {"membership": "join"}, state_key=ALICE),
        EventRequest(ALICE, "m.room.join_rules", {"join_rule": "public"}, state_key="")])
    stays, leaves, outsider = member(1), member(2), member(3)
    disabled = {("underride", ".m.rule.message"): DefaultRuleChange(enabled=False)}
    async with storage.transaction() as tx:
        for user_id in (stays, leaves, outsider):
            await tx.push.upsert_rule(user_id, KEYWORD, keep_enabled=False)
            await tx.push.change_default_rule(user_id, "underride", ".m.rule.message",
                                              enabled=False)
    joined = [await writer.send(room_id, EventRequest(u, "m.room.member",
                                                      {"membership": "join"}, state_key=u))
              for u in (stays, leaves)]
    left = await writer.send(room_id, EventRequest(leaves, "m.room.member",
                                                   {"membership": "leave"}, state_key=leaves))
    at_join = await storage.push.rules_of_members(room_id, joined[-1].stream_ordering)
    assert sorted(at_join) == [stays, leaves]
    assert at_join[stays].rules == [KEYWORD] and at_join[stays].changes == disabled
    assert sorted(await storage.push.rules_of_members(room_id, left.stream_ordering)) == \
        [stays]


async def test_one_write_with_joins_leaves_and_invites_notifies_members_at_each_event(
        storage: Storage) -> None:
    """The events of one write (here: a room created with joins, a leave, messages and
    invites) are evaluated together, the members and rules read once for them: still
    each event notifies the members joined at it, by their own rules — a member who
    joined within the write included."""
    evaluator = PushEvaluator("test", storage, QuietGateway(storage, "test"))
    writer = EventsService(Config(server_name="test"), storage, generate_signing_key(),
                           persist_steps=[], fanout=EventFanout(storage, [evaluator]))
    b, c, d, e, f = (member(i) for i in range(1, 6))
    async with storage.transaction() as tx:
        await tx.push.change_default_rule(c, "underride", ".m.rule.message", enabled=False)
        await tx.push.change_default_rule(d, "override", ".m.rule.invite_for_me",
                                          enabled=False)

    def join(user_id: str) -> EventRequest:
        return EventRequest(user_id, "m.room.member", {"membership": "join"},
                            state_key=user_id)

    def say(body: str) -> EventRequest:
        return EventRequest(ALICE, "m.room.message", {"msgtype": "m.text", "body": body})

    _, written = await writer.create_room(ALICE, V12, {}, lambda room_id: [
        join(ALICE),
        EventRequest(ALICE, "m.room.join_rules", {"join_rule": "public"}, state_key=""),
        join(e), join(b), say("first"), join(c),
        EventRequest(b, "m.room.member", {"membership": "leave"}, state_key=b),
        say("second"),
        *(EventRequest(ALICE, "m.room.member", {"membership": "invite"}, state_key=u)
          for u in (d, f))])
    first, second = (w.event_id for w in written if w.type == "m.room.message")
    invite_f = written[-1].event_id

    async def notified(user_id: str) -> list[str]:
        return sorted(n.event_id for n in
                      await storage.push.notifications(user_id, None, 100, False))

    assert await notified(b) == [first]
    assert await notified(c) == []  # joined for "second", whose rule C disabled
    assert await notified(e) == sorted([first, second])
    assert await notified(d) == []
    assert await notified(f) == [invite_f]
