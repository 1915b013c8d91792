"""Push notifications: rules per user, evaluation of every event, notifications and unread
counts (pushers are ``services/pushers.py``).

Evaluation runs inside the event writer's transaction (an ``on_persist`` hook), so a
notification row and its queued pushes commit with the event, and the unread counts in
``/sync`` never lag the timeline. Its cost per event is a few queries whatever the number
of rules: recipients' rules are read once per transaction (a ``createRoom`` batch reads
them once, not once per event), and display names and power levels are read only for
the events whose rules need them (see ``MissingFact`` in ``glia.protocol.push_rules``).
Nothing is cached across transactions, so several processes always agree on the rules.
Delivery to push gateways happens after the commit, in ``services/push_gateway.py``.

A user's read position per room (their latest read receipt, or their own latest event)
decides what is unread; notifications at or before it count as read.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.protocol import push_rules as pr
from glia.protocol.events import redacts_of
from glia.protocol.power_levels import room_creators, user_level
from glia.protocol.room_versions import RoomVersion
from glia.services.auth import Requester
from glia.services.events import StoredEvent, client_event
from glia.services.notifier import Notifier
from glia.services.push_gateway import PushGateway
from glia.storage import Storage, Stores
from glia.storage.push import Notification

__all__ = ["PushService"]

logger = logging.getLogger(__name__)

DEFAULT_NOTIFICATIONS_LIMIT = 50
MAX_NOTIFICATIONS_LIMIT = 500
#: Users whose built rule sets are kept (about 9 KB each), and member events whose
#: display names are kept.
RULES_CACHE_SIZE = 2048
NAMES_CACHE_SIZE = 20_000
#: How deep the JSON of a rule's conditions and actions, or a pusher's data, may nest.
MAX_JSON_DEPTH = 32


def _unknown_rule() -> MatrixError:
    return errors.not_found("Unknown rule")


@dataclass
class _Batch:
    """What one writing transaction already loaded: each recipient's rules."""

    rulesets: dict[str, pr.Ruleset] = field(default_factory=dict)


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


class PushService:
    def __init__(self, config: Config, storage: Storage, notifier: Notifier,
                 gateway: PushGateway) -> None:
        self._config = config
        self._storage = storage
        self._notifier = notifier
        self._gateway = gateway
        self._suffix = f":{config.server_name}"
        self._batches: WeakKeyDictionary[Stores, _Batch] = WeakKeyDictionary()
        # Built rule sets by user, each with the version (stream position of the user's
        # last rule change) it was built at. The version is read again in every writing
        # transaction, so a change made by any process is seen at once.
        self._rules: _Lru[str, tuple[int | None, pr.Ruleset]] = _Lru(RULES_CACHE_SIZE)
        # Display names by member event ID (an event's content never changes).
        self._names: _Lru[str, tuple[str | None]] = _Lru(NAMES_CACHE_SIZE)

    def _is_local(self, user_id: str) -> bool:
        return user_id.endswith(self._suffix)

    # -- rules -----------------------------------------------------------------------

    async def ruleset(self, user_id: str) -> pr.Ruleset:
        mine = (await self._storage.push.rules_for_users([user_id]))[user_id]
        return pr.build_ruleset(user_id, mine.rules, mine.changes)

    async def push_rules_content(self, user_id: str) -> dict[str, Any]:
        """The content of the user's ``m.push_rules`` account data: ``{"global": …}``
        with every kind's rules in evaluation order (server defaults included)."""
        self._gateway.ensure_running()
        return {"global": (await self.ruleset(user_id)).to_json()}

    async def push_rules_account_data(self, user_id: str) -> list[dict[str, Any]]:
        """The ``m.push_rules`` account data event, for ``/sync``'s ``account_data``."""
        return [{"type": "m.push_rules", "content": await self.push_rules_content(user_id)}]

    async def sync_account_data(self, user_id: str, since: int | None, upto: int
                                ) -> list[dict[str, Any]]:
        """``m.push_rules`` for ``/sync``: on an initial sync, and whenever it changed."""
        if since is None or await self.push_rules_changed(user_id, since, upto):
            return await self.push_rules_account_data(user_id)
        return []

    async def push_rules_changed(self, user_id: str, after: int, upto: int) -> bool:
        """Whether the user's rules changed in the stream range ``(after, upto]`` (an
        incremental ``/sync`` then sends ``m.push_rules`` again)."""
        changed = await self._storage.push.rules_changed_at(user_id)
        return changed is not None and after < changed <= upto

    async def rules_of_kind(self, user_id: str, kind: str) -> list[dict[str, Any]]:
        """``GET /pushrules/global/{kind}/``: one kind's rules."""
        if kind not in pr.KINDS:
            raise errors.unrecognized(400)
        return [r.to_json() for r in (await self.ruleset(user_id)).by_kind.get(kind, [])]

    async def get_rule(self, user_id: str, kind: str, rule_id: str) -> pr.PushRule:
        if kind not in pr.KINDS:
            raise errors.unrecognized(400)
        rule = (await self.ruleset(user_id)).find(kind, rule_id)
        if rule is None:
            raise errors.not_found()
        return rule

    async def put_rule(self, user_id: str, kind: str, rule_id: str, body: Mapping[str, Any],
                       before: str | None, after: str | None) -> None:
        """Create or replace one of the user's rules. A new rule goes where ``before`` or
        ``after`` says, else first of its kind; an updated one keeps its place (and its
        enabled switch) unless they say otherwise."""
        _check_kind_for_write(kind)
        if "/" in rule_id or "\\" in rule_id:
            raise errors.unknown("rule_id may not contain slashes")
        if rule_id.startswith("."):
            raise errors.unknown("cannot add new rule_ids that start with '.'")
        check_json_depth(body, "The push rule")
        rule = pr.rule_from_request(kind, rule_id, body)
        async with self._storage.transaction() as tx:
            # First, so concurrent changes of one user's rules queue on this row.
            await self._changed(tx, user_id)
            ids = [r.rule_id for r in await tx.push.rules_of_kind(user_id, kind)]
            exists = rule_id in ids
            anchor = before or after or None
            if exists and anchor is None:
                order = ids
            else:
                order = [i for i in ids if i != rule_id]
                if anchor is None:
                    at = 0
                elif anchor in order:
                    at = order.index(anchor) + (0 if before else 1)
                else:
                    raise errors.unknown(f"before/after rule not found: {anchor}")
                order.insert(at, rule_id)
            await tx.push.upsert_rule(user_id, rule, keep_enabled=exists)
            await tx.push.set_priorities(user_id, kind, order)
        await self._notifier.notify(users=[user_id])

    async def delete_rule(self, user_id: str, kind: str, rule_id: str) -> None:
        """Delete one of the user's rules; server-default rules cannot be deleted (404,
        as for a rule that does not exist)."""
        async with self._storage.transaction() as tx:
            if kind not in pr.KINDS or not await tx.push.delete_rule(user_id, kind, rule_id):
                raise errors.not_found()
            await self._changed(tx, user_id)
        await self._notifier.notify(users=[user_id])

    async def set_enabled(self, user_id: str, kind: str, rule_id: str, value: Any) -> None:
        """``PUT …/enabled``: the body is ``{"enabled": bool}`` (a bare boolean is accepted
        too, as older clients send it)."""
        _check_kind_for_write(kind)
        if isinstance(value, dict):
            if "enabled" not in value:
                raise errors.missing_param("Missing 'enabled'")
            value = value["enabled"]
        if not isinstance(value, bool):
            raise errors.bad_json("Value for 'enabled' must be boolean")
        await self._set_attribute(user_id, kind, rule_id, enabled=value)

    async def set_actions(self, user_id: str, kind: str, rule_id: str,
                          body: Mapping[str, Any]) -> None:
        """``PUT …/actions``, which may also change a server-default rule's actions."""
        _check_kind_for_write(kind)
        if "actions" not in body:
            raise errors.missing_param("Missing 'actions'")
        check_json_depth(body["actions"], "actions")
        await self._set_attribute(user_id, kind, rule_id,
                                  actions=pr.parse_actions(body["actions"]))

    async def _set_attribute(self, user_id: str, kind: str, rule_id: str, *,
                             enabled: bool | None = None,
                             actions: Sequence[pr.Action] | None = None) -> None:
        async with self._storage.transaction() as tx:
            if rule_id.startswith("."):
                if not pr.is_default_rule(kind, rule_id):
                    raise _unknown_rule()
                await tx.push.change_default_rule(user_id, kind, rule_id, enabled=enabled,
                                                  actions=actions)
            elif enabled is not None:
                if not await tx.push.set_rule_enabled(user_id, kind, rule_id, enabled):
                    raise _unknown_rule()
            elif actions is not None and \
                    not await tx.push.set_rule_actions(user_id, kind, rule_id, actions):
                raise _unknown_rule()
            await self._changed(tx, user_id)
        await self._notifier.notify(users=[user_id])

    async def _changed(self, tx: Stores, user_id: str) -> None:
        await tx.push.mark_rules_changed(user_id, await tx.next_stream_position())

    # -- evaluation, inside the event writer's transaction ---------------------------

    async def on_persist(self, tx: Stores, event: StoredEvent, version: RoomVersion) -> None:
        """Evaluate each local recipient's rules on a new event; store the notifications
        they cause and queue their pushes. Also moves read positions the event implies:
        a sender has read up to their own event, and leaving a room reads it."""
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

        joined = await tx.state.members_at(room_id, None, ["join"])
        # Each recipient with the event ID of their member event (for display names).
        recipients = {m.user_id: m.event_id for m in joined
                      if m.user_id != sender and self._is_local(m.user_id)}
        if target_user and membership == "invite" and target_user != sender and \
                self._is_local(target_user):
            recipients[target_user] = event.event_id
        if not recipients:
            return
        batch = self._batches.setdefault(tx, _Batch())
        missing = [u for u in recipients if u not in batch.rulesets]
        if missing:
            await self._load_rulesets(tx, missing, batch)

        facts = pr.EventFacts({**event.pdu, "event_id": event.event_id, "room_id": room_id},
                              len(joined))
        names: dict[str, str | None] | None = None
        now = now_ms()
        thread_id = _thread_of(event.content)
        rows: list[Notification] = []
        for user_id in recipients:
            while True:
                try:
                    rule = pr.evaluate(batch.rulesets[user_id], facts, user_id,
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
        if rows:
            await tx.push.add_notifications(rows)
            if await tx.push.queue_deliveries([n.user_id for n in rows], stream, now):
                self._gateway.expect_work()

    async def _load_rulesets(self, tx: Stores, user_ids: list[str], batch: _Batch) -> None:
        """Rule sets of ``user_ids`` into ``batch``: from the cache where the version read
        now matches, else built from the database (or from the defaults alone for users
        who never changed a rule)."""
        versions = await tx.push.rule_versions(user_ids)
        stale = []
        for user_id in user_ids:
            version = versions.get(user_id)
            cached = self._rules.get(user_id)
            if cached is not None and cached[0] == version:
                batch.rulesets[user_id] = cached[1]
            elif version is None:
                ruleset = pr.build_ruleset(user_id, [], {})
                self._rules.put(user_id, (None, ruleset))
                batch.rulesets[user_id] = ruleset
            else:
                stale.append(user_id)
        if stale:
            loaded = await tx.push.rules_for_users(stale)
            for user_id in stale:
                mine = loaded[user_id]
                ruleset = pr.build_ruleset(user_id, mine.rules, mine.changes)
                self._rules.put(user_id, (versions.get(user_id), ruleset))
                batch.rulesets[user_id] = ruleset

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

    # -- unread counts and read positions --------------------------------------------

    async def unread_counts(self, user_id: str, room_id: str) -> tuple[int, int]:
        """(notification_count, highlight_count) of the user's notifications in the room
        that are newer than their read position there (for ``unread_notifications`` in
        ``/sync``)."""
        return (await self.unread_counts_many(user_id, [room_id])).get(room_id, (0, 0))

    async def unread_counts_many(self, user_id: str, room_ids: Sequence[str]
                                 ) -> dict[str, tuple[int, int]]:
        """:meth:`unread_counts` for many rooms in one query; rooms with no unread
        notifications are left out."""
        self._gateway.ensure_running()
        return await self._storage.push.unread_counts(user_id, room_ids)

    async def mark_read(self, user_id: str, room_id: str, stream: int) -> None:
        """The user read up to the event at ``stream`` in the room (an ``m.read`` or
        ``m.read.private`` receipt): notifications up to it no longer count as unread.
        A position behind the current one changes nothing."""
        await self._storage.push.mark_read(user_id, room_id, stream)

    # -- GET /notifications ----------------------------------------------------------

    async def notifications(self, requester: Requester, from_token: int | None,
                            limit: int | None, only: str | None) -> dict[str, Any]:
        """A page of the user's notifications, newest first; ``next_token`` is there
        only when older ones remain."""
        user_id = requester.user_id
        if limit is None:
            limit = DEFAULT_NOTIFICATIONS_LIMIT
        limit = min(limit, MAX_NOTIFICATIONS_LIMIT)
        rows = await self._storage.push.notifications(user_id, from_token, limit + 1,
                                                      only == "highlight")
        more = len(rows) > limit
        rows = rows[:limit]
        events = await self._storage.events.get_many([n.event_id for n in rows])
        markers = await self._storage.push.read_markers(
            user_id, sorted({n.room_id for n in rows}))
        now = now_ms()
        out: list[dict[str, Any]] = []
        for n in rows:
            stored = events.get(n.event_id)
            if stored is None:
                continue
            body = client_event(stored, None, now)
            body.pop("room_id", None)
            out.append({
                "actions": n.actions, "event": body, "profile_tag": "",
                "read": n.stream <= markers.get(n.room_id, 0), "room_id": n.room_id,
                "ts": n.ts,
            })
        page: dict[str, Any] = {"notifications": out}
        if more and rows:
            page["next_token"] = str(rows[-1].stream)
        return page

def check_json_depth(value: Any, what: str) -> None:
    """Refuse JSON nested deeper than :data:`MAX_JSON_DEPTH`: rules are decoded again in
    the event writer, which must never fail on what a user stored."""
    level: list[Any] = [value]
    for _ in range(MAX_JSON_DEPTH):
        level = [v for item in level
                 for v in (item.values() if isinstance(item, dict) else
                           item if isinstance(item, list) else ())]
        if not level:
            return
    raise errors.bad_json(f"{what} is nested too deeply")


def _check_kind_for_write(kind: str) -> None:
    if kind not in pr.KINDS:
        raise errors.unknown(f"Unknown template: {kind}")


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
