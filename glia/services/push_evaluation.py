"""Push evaluation (the spec's push rules applied to every new event): which local users an
event notifies, recorded as notifications (the unread counts of ``/sync``: one room-wide
row for the outcome most members share, rows of their own for the others, see
``services/push_outcome.py``) and as queued pushes for their HTTP pushers (delivered by
``services/push_gateway.py``).

:class:`PushEvaluator` is a subscriber of the event writer: it runs right after an event
commits, before the writer wakes ``/sync`` (so a woken sync sees the new counts), or later
from the writer's outbox should that fail. It may run twice on one event and is
idempotent: read positions only move forwards, a notification already recorded is not
recorded (nor pushed) again. Recipients are the room's members at the event (its stream
position), whenever it runs.

Its cost per event does not grow with what each member has set, only with the number
of distinct rule sets among the members: recipients are grouped by their rules (most
have the bare server defaults and share one template) and each group is evaluated once
for the event (see ``evaluate_members`` in ``glia.protocol.push_rules``). The members'
own rules are read with the events, once per room for all the events of one write (a
room created with thousands of invites reads them once, not per invite), so a change
made by any process is seen at once; the joined members are kept per room and brought
up to date from the membership changes since (``services/push_members.py``). Display
names and power levels are read only for the events whose rules need them
(``MissingFact``); display names are kept per room, whole, for the rooms evaluated last
(a room cannot outgrow that).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import msgspec

from glia.clock import now_ms
from glia.protocol import push_rules as pr
from glia.protocol.events import redacts_of
from glia.protocol.power_levels import room_creators, user_level
from glia.protocol.room_versions import RoomVersion
from glia.services.event_fanout import WrittenEvent
from glia.services.push_gateway import PushGateway
from glia.services.push_members import Joined, JoinedMembers, RoomBatch, invitee_of
from glia.services.push_outcome import EventOutcome
from glia.storage import Storage, Stores
from glia.storage.events import StoredEvent
from glia.storage.push import UserRules

__all__ = ["PushEvaluator"]

#: Rooms whose joined members and their display names are kept (each room whole).
NAMED_ROOMS = 32
#: Built rule sets kept, by content (users with the same rules share one).
TEMPLATES = 1024
#: Member events read per query.
_CHUNK = 500


class PushEvaluator:
    """The event writer's push subscriber."""

    name = "push"

    def __init__(self, server_name: str, storage: Storage, gateway: PushGateway) -> None:
        self._storage = storage
        self._gateway = gateway
        self._suffix = f":{server_name}"
        self._names = _MemberNames(NAMED_ROOMS)
        self._joined = JoinedMembers(NAMED_ROOMS)
        self._templates: OrderedDict[bytes, pr.Ruleset] = OrderedDict()

    def _is_local(self, user_id: str) -> bool:
        return user_id.endswith(self._suffix)

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        """Evaluate the local recipients' rules on each event; store the notifications
        they cause and queue their pushes; wake the push gateway if pushes were queued."""
        outcomes: list[EventOutcome] = []
        batches: dict[str, RoomBatch] = {}
        for w in events:
            room_id = w.event.room_id
            batch = batches.get(room_id)
            if batch is None:
                batch = batches[room_id] = RoomBatch(room_id, self._joined.take(room_id))
            batch.add(w.event, self._is_local)
        async with self._storage.transaction() as tx:
            # An event redacted since it was written notifies nobody (its redaction's
            # subscribers may have run before ours).
            current = await tx.events.get_many([w.event.event_id for w in events])
            for w in events:
                now = current.get(w.event.event_id)
                outcome = await self._evaluate(tx, w.event, w.version,
                                               batches[w.event.room_id],
                                               notify=now is not None and now.redacted_by is None)
                if outcome is not None:
                    outcomes.append(outcome)
            queued = await self._record(tx, outcomes) if outcomes else 0
        for batch in batches.values():
            members = batch.members()
            if members is not None:
                self._joined.put(batch.room_id, *members)
        if queued:
            self._gateway.wake()

    async def _evaluate(self, tx: Stores, event: StoredEvent, version: RoomVersion,
                        batch: RoomBatch, notify: bool) -> EventOutcome | None:
        """The notifications ``event`` causes. Also moves read positions the event
        implies: a sender has read up to their own event, and leaving a room reads it."""
        room_id, sender, stream = event.room_id, event.sender, event.stream_ordering
        if self._is_local(sender):
            await tx.push.mark_read(sender, room_id, stream)
        if event.type == "m.room.redaction":
            target_id = redacts_of(event.pdu, version)
            target = await tx.events.get(target_id) if target_id is not None else None
            # Only if the writer applied the redaction (a redacted event notifies nobody).
            if target is not None and target.redacted_by == event.event_id:
                await tx.push.delete_event_notifications(target.event_id)
                self._names.forget(room_id, target.event_id)
        target_user = event.state_key if event.type == "m.room.member" else None
        membership = event.content.get("membership")
        if target_user and target_user != sender and self._is_local(target_user) and \
                membership in ("leave", "ban"):
            await tx.push.mark_read(target_user, room_id, stream)
        if not notify:
            return None

        invitee = invitee_of(event, self._is_local)
        if event.type == "m.room.member" and not await batch.rules(tx):
            # Everyone with the bare server defaults is decided by their shared
            # ``.m.rule.member_event`` (no notification), but the invitee of an invite
            # (``.m.rule.invite_for_me`` comes first): a join or leave in a big room
            # need not read its members.
            joined: Mapping[str, str] = {}
            recipients = {} if invitee is None else {invitee: event.event_id}
        else:
            joined = await batch.joined_at(tx, stream)
            recipients = self._recipients(joined, sender, invitee, event.event_id)
        if not recipients:
            return None

        facts = pr.EventFacts({**event.pdu, "event_id": event.event_id, "room_id": room_id},
                              len(joined))
        names: pr.NameIndex | None = None
        winners: dict[str, pr.PushRule] = {}
        for ruleset, users in self._groups(await batch.rules(tx), recipients):
            while True:
                try:
                    winners.update(pr.evaluate_members(ruleset, facts, users, names))
                    break
                except pr.MissingFact as missing_fact:
                    if missing_fact.fact == "display_name" and names is None:
                        names = await self._names.index(
                            tx, room_id, joined if invitee is None else recipients)
                    elif missing_fact.fact == "power_levels" and facts.power is pr.UNKNOWN:
                        facts = replace(facts, power=await _power_facts(tx, event, version))
                    else:
                        raise
        return EventOutcome.of(event, _thread_of(event.content), now_ms(), recipients,
                                joined, winners, await batch.pusher_users(tx))

    def _recipients(self, joined: Mapping[str, str], sender: str, invitee: str | None,
                    event_id: str) -> dict[str, str]:
        """Each local recipient with the event ID of their member event (for display
        names): the joined members but the sender, and the invitee of an invite."""
        recipients = {user_id: member_event for user_id, member_event in joined.items()
                      if user_id != sender and self._is_local(user_id)}
        if invitee is not None:
            recipients[invitee] = event_id
        return recipients

    def _groups(self, custom: Mapping[str, UserRules], recipients: Mapping[str, str]
                ) -> list[tuple[pr.Ruleset, list[str]]]:
        """The recipients grouped by rule set: one group for everyone with the bare
        server defaults (not in ``custom``), one per distinct set of own rules and
        default changes."""
        groups: dict[bytes, tuple[pr.Ruleset, list[str]]] = {}
        plain: list[str] = []
        for user_id in recipients:
            mine = custom.get(user_id)
            if mine is None:
                plain.append(user_id)
                continue
            key = _content_key(mine)
            group = groups.get(key)
            if group is None:
                group = groups[key] = (self._template(key, mine), [])
            group[1].append(user_id)
        out = [(pr.DEFAULT_TEMPLATE, plain)] if plain else []
        return out + list(groups.values())

    def _template(self, key: bytes, rules: UserRules) -> pr.Ruleset:
        """The rule set of ``rules`` (whose :func:`_content_key` is ``key``), built once
        for as long as it stays among the :data:`TEMPLATES` most recently used."""
        template = self._templates.pop(key, None)
        if template is None:
            template = pr.build_template(rules.rules, rules.changes)
        self._templates[key] = template
        if len(self._templates) > TEMPLATES:
            self._templates.popitem(last=False)
        return template

    @staticmethod
    async def _record(tx: Stores, outcomes: list[EventOutcome]) -> int:
        """Store the notifications of the events not recorded yet (a retry may find some
        recorded: an event's rows are written together) and queue their pushes; returns
        how many pushes were queued."""
        done = await tx.push.events_with_notifications(
            sorted({o.event_id for o in outcomes}))
        queued = 0
        for o in outcomes:
            if o.event_id in done:
                continue
            if o.room_wide is not None:
                await tx.push.add_room_notification(o.room_wide)
            await tx.push.add_notifications(o.own)
            pushed = [n.user_id for n in o.own if n.notify and n.user_id in o.pusher_users]
            if pushed:
                queued += await tx.push.queue_deliveries(pushed, o.stream, o.ts)
        return queued


class _MemberNames:
    """Display names by member event ID, whole rooms at a time, for the rooms evaluated
    last, and each room's :class:`~glia.protocol.push_rules.NameIndex` while its joined
    members do not change. Entries of members who left or changed their name are
    dropped as the room's map is refreshed, so a room's map is about its member count."""

    def __init__(self, rooms: int) -> None:
        self._rooms = rooms
        self._by_room: OrderedDict[str, dict[str, str | None]] = OrderedDict()
        self._indexes: dict[str, tuple[Joined, int, pr.NameIndex]] = {}

    def forget(self, room_id: str, event_id: str) -> None:
        """A member event was redacted (its display name went with its content)."""
        known = self._by_room.get(room_id)
        if known is not None:
            known.pop(event_id, None)
        self._indexes.pop(room_id, None)

    async def index(self, tx: Stores, room_id: str, members: Mapping[str, str]
                    ) -> pr.NameIndex:
        """The display names of ``members`` (user ID → member event ID), indexed; kept
        for as long as ``members`` is the room's kept :class:`Joined` map and unchanged
        (the names come from the member events, so they change only with them)."""
        kept = self._indexes.get(room_id)
        if isinstance(members, Joined) and kept is not None and kept[0] is members \
                and kept[1] == members.version:
            return kept[2]
        index = pr.NameIndex(await self._of(tx, room_id, members))
        if isinstance(members, Joined):
            self._indexes[room_id] = (members, members.version, index)
        return index

    async def _of(self, tx: Stores, room_id: str, members: Mapping[str, str]
                  ) -> dict[str, str | None]:
        """Each member's display name in the room, from their member event (given by
        user ID)."""
        known = self._by_room.pop(room_id, None) or {}
        missing = sorted({e for e in members.values() if e not in known})
        for i in range(0, len(missing), _CHUNK):
            events = await tx.events.get_many(missing[i:i + _CHUNK])
            for event_id, event in events.items():
                name = event.content.get("displayname") \
                    if event.type == "m.room.member" else None
                known[event_id] = name if isinstance(name, str) else None
        out = {user_id: known.get(event_id) for user_id, event_id in members.items()}
        if len(known) > 2 * len(members) + 64:
            wanted = set(members.values())
            known = {e: n for e, n in known.items() if e in wanted}
        self._by_room[room_id] = known
        while len(self._by_room) > self._rooms:
            evicted, _ = self._by_room.popitem(last=False)
            self._indexes.pop(evicted, None)
        return out


def _content_key(rules: UserRules) -> bytes:
    """What makes a user's rule set: two users with equal keys have equal templates."""
    return msgspec.json.encode([
        [[r.kind, r.to_json()] for r in rules.rules],
        sorted([kind, rule_id, change.enabled, change.actions]
               for (kind, rule_id), change in rules.changes.items()),
    ])


def _thread_of(content: Mapping[str, Any]) -> str:
    relates = content.get("m.relates_to")
    if isinstance(relates, Mapping) and relates.get("rel_type") == "m.thread" and \
            isinstance(relates.get("event_id"), str):
        return str(relates["event_id"])
    return "main"


async def _power_facts(tx: Stores, event: StoredEvent, version: RoomVersion) -> pr.PowerFacts:
    """The sender's power level and the room's power levels (``@room`` permission)."""
    ids = await tx.state.current_ids_by_key(event.room_id, [("m.room.create", ""),
                                                            ("m.room.power_levels", "")])
    events = await tx.events.get_many(list(ids.values()))
    create = events.get(ids.get(("m.room.create", ""), ""))
    power = events.get(ids.get(("m.room.power_levels", ""), ""))
    pl_content = power.content if power is not None else None
    creators = room_creators(create.pdu if create is not None else None, version)
    return pr.PowerFacts(user_level(pl_content, event.sender, creators, version),
                         pl_content, version)
