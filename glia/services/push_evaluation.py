"""Push evaluation (the spec's push rules applied to every new event): which local users an
event notifies, recorded as notification rows (the unread counts of ``/sync``) and as
queued pushes for their HTTP pushers (delivered by ``services/push_gateway.py``).

:class:`PushEvaluator` is a subscriber of the event writer: it runs right after an event
commits, before the writer wakes ``/sync`` (so a woken sync sees the new counts), or later
from the writer's outbox should that fail. It may run twice on one event and is
idempotent: read positions only move forwards, a notification already recorded is not
recorded (nor pushed) again. Recipients are the room's members at the event (its stream
position), whenever it runs.

Its cost per batch of events is a few queries whatever the number of rules: recipients'
rules are read once per batch (a ``createRoom`` batch reads them once, not once per
event), and display names and power levels are read only for the events whose rules need
them (see ``MissingFact`` in ``glia.protocol.push_rules``). Built rule sets are cached
with the version they were built at, which is read again in every batch, so a change
made by any process is seen at once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Generic, TypeVar

from glia.clock import now_ms
from glia.protocol import push_rules as pr
from glia.protocol.events import redacts_of
from glia.protocol.power_levels import room_creators, user_level
from glia.protocol.room_versions import RoomVersion
from glia.services.event_fanout import WrittenEvent
from glia.services.push_gateway import PushGateway
from glia.storage import Storage, Stores
from glia.storage.events import StoredEvent
from glia.storage.push import Notification

__all__ = ["PushEvaluator"]

#: Users whose built rule sets are kept (about 9 KB each), and member events whose
#: display names are kept.
RULES_CACHE_SIZE = 2048
NAMES_CACHE_SIZE = 20_000

K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A small bounded least-recently-used map."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)


class PushEvaluator:
    """The event writer's push subscriber."""

    name = "push"

    def __init__(self, server_name: str, storage: Storage, gateway: PushGateway) -> None:
        self._storage = storage
        self._gateway = gateway
        self._suffix = f":{server_name}"
        # Built rule sets by user, each with the version (stream position of the user's
        # last rule change) it was built at.
        self._rules: _Lru[str, tuple[int | None, pr.Ruleset]] = _Lru(RULES_CACHE_SIZE)
        # Display names by member event ID (an event's content never changes).
        self._names: _Lru[str, tuple[str | None]] = _Lru(NAMES_CACHE_SIZE)

    def _is_local(self, user_id: str) -> bool:
        return user_id.endswith(self._suffix)

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        """Evaluate each local recipient's rules on each event; store the notifications
        they cause and queue their pushes; wake the push gateway if pushes were queued."""
        rows: list[Notification] = []
        async with self._storage.transaction() as tx:
            # An event redacted since it was written notifies nobody (its redaction's
            # subscribers may have run before ours).
            current = await tx.events.get_many([w.event.event_id for w in events])
            rulesets: dict[str, pr.Ruleset] = {}
            for w in events:
                now = current.get(w.event.event_id)
                rows += await self._evaluate(tx, w.event, w.version, rulesets,
                                             notify=now is not None and now.redacted_by is None)
            queued = await self._record(tx, rows) if rows else 0
        if queued:
            self._gateway.wake()

    async def _evaluate(self, tx: Stores, event: StoredEvent, version: RoomVersion,
                        rulesets: dict[str, pr.Ruleset], notify: bool) -> list[Notification]:
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
        target_user = event.state_key if event.type == "m.room.member" else None
        membership = event.content.get("membership")
        if target_user and target_user != sender and self._is_local(target_user) and \
                membership in ("leave", "ban"):
            await tx.push.mark_read(target_user, room_id, stream)
        if not notify:
            return []

        joined = await tx.state.members_at(room_id, stream, ["join"])
        # Each recipient with the event ID of their member event (for display names).
        recipients = {m.user_id: m.event_id for m in joined
                      if m.user_id != sender and self._is_local(m.user_id)}
        if target_user and membership == "invite" and target_user != sender and \
                self._is_local(target_user):
            recipients[target_user] = event.event_id
        if not recipients:
            return []
        missing = [u for u in recipients if u not in rulesets]
        if missing:
            await self._load_rulesets(tx, missing, rulesets)

        facts = pr.EventFacts({**event.pdu, "event_id": event.event_id, "room_id": room_id},
                              len(joined))
        names: dict[str, str | None] | None = None
        now = now_ms()
        thread_id = _thread_of(event.content)
        rows: list[Notification] = []
        for user_id in recipients:
            while True:
                try:
                    rule = pr.evaluate(rulesets[user_id], facts, user_id,
                                       pr.UNKNOWN if names is None else names.get(user_id))
                    break
                except pr.MissingFact as missing_fact:
                    if missing_fact.fact == "display_name" and names is None:
                        names = await self._display_names(tx, recipients)
                    elif missing_fact.fact == "power_levels" and facts.power is pr.UNKNOWN:
                        facts = replace(facts, power=await _power_facts(tx, event, version))
                    else:
                        raise
            if rule is None:
                continue
            actions = pr.effective_actions(rule.actions)
            if pr.notifies(actions):
                rows.append(Notification(user_id, room_id, event.event_id, stream, thread_id,
                                         actions, pr.highlights(actions), now))
        return rows

    @staticmethod
    async def _record(tx: Stores, rows: list[Notification]) -> int:
        """Store the notifications not stored yet (a retry may find some) and queue their
        pushes; returns how many pushes were queued."""
        done = await tx.push.notified(sorted({n.user_id for n in rows}),
                                      sorted({n.stream for n in rows}))
        fresh = [n for n in rows if (n.user_id, n.stream) not in done]
        await tx.push.add_notifications(fresh)
        by_stream: dict[int, list[str]] = {}
        for n in fresh:
            by_stream.setdefault(n.stream, []).append(n.user_id)
        queued = 0
        for stream, users in by_stream.items():
            queued += await tx.push.queue_deliveries(users, stream, fresh[0].ts)
        return queued

    async def _load_rulesets(self, tx: Stores, user_ids: list[str],
                             rulesets: dict[str, pr.Ruleset]) -> None:
        """Rule sets of ``user_ids`` into ``rulesets``: from the cache where the version
        read now matches, else built from the database (or from the defaults alone for users
        who never changed a rule)."""
        versions = await tx.push.rule_versions(user_ids)
        stale = []
        for user_id in user_ids:
            version = versions.get(user_id)
            cached = self._rules.get(user_id)
            if cached is not None and cached[0] == version:
                rulesets[user_id] = cached[1]
            elif version is None:
                ruleset = pr.build_ruleset(user_id, [], {})
                self._rules.put(user_id, (None, ruleset))
                rulesets[user_id] = ruleset
            else:
                stale.append(user_id)
        if stale:
            loaded = await tx.push.rules_for_users(stale)
            for user_id in stale:
                mine = loaded[user_id]
                ruleset = pr.build_ruleset(user_id, mine.rules, mine.changes)
                self._rules.put(user_id, (versions.get(user_id), ruleset))
                rulesets[user_id] = ruleset

    async def _display_names(self, tx: Stores, members: Mapping[str, str]
                             ) -> dict[str, str | None]:
        """Each recipient's display name in the room, from their member event."""
        out: dict[str, str | None] = {}
        unknown: dict[str, str] = {}
        for user_id, event_id in members.items():
            cached = self._names.get(event_id)
            if cached is None:
                unknown[user_id] = event_id
            else:
                out[user_id] = cached[0]
        events = await tx.events.get_many(sorted(set(unknown.values()))) if unknown else {}
        for user_id, event_id in unknown.items():
            event = events.get(event_id)
            name = event.content.get("displayname") \
                if event is not None and event.state_key == user_id else None
            out[user_id] = name if isinstance(name, str) else None
            if event is not None:
                self._names.put(event_id, (out[user_id],))
        return out


def _thread_of(content: Mapping[str, Any]) -> str:
    relates = content.get("m.relates_to")
    if isinstance(relates, Mapping) and relates.get("rel_type") == "m.thread" and \
            isinstance(relates.get("event_id"), str):
        return str(relates["event_id"])
    return "main"


async def _power_facts(tx: Stores, event: StoredEvent, version: RoomVersion) -> pr.PowerFacts:
    """The sender's power level and the room's power levels (``@room`` permission)."""
    ids = await tx.state.current_ids(event.room_id, [("m.room.create", ""),
                                                     ("m.room.power_levels", "")])
    events = await tx.events.get_many(list(ids.values()))
    create = events.get(ids.get(("m.room.create", ""), ""))
    power = events.get(ids.get(("m.room.power_levels", ""), ""))
    pl_content = power.content if power is not None else None
    creators = room_creators(create.pdu if create is not None else None, version)
    return pr.PowerFacts(user_level(pl_content, event.sender, creators, version),
                         pl_content, version)
