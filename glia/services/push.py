"""Push notifications: rules per user, the notifications they caused (``GET
/notifications``), read positions and unread counts. Evaluating the rules on each new
event is ``services/push_evaluation.py``, delivery to push gateways
``services/push_gateway.py``, pushers ``services/pushers.py``.

A user's read position per room (their latest read receipt, or their own latest event)
decides what is unread; notifications at or before it count as read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.protocol import push_rules as pr
from glia.services.auth import Requester
from glia.services.event_format import client_event
from glia.services.notifier import Notifier
from glia.services.push_gateway import PushGateway
from glia.storage import Storage, Stores

if TYPE_CHECKING:
    from glia.services.unit_of_work import UnitOfWork

__all__ = ["PushRuleBody", "PushService", "RuleActionsBody", "RuleEnabledBody", "SetTweak"]

logger = logging.getLogger(__name__)

DEFAULT_NOTIFICATIONS_LIMIT = 50
MAX_NOTIFICATIONS_LIMIT = 500
#: How deep the JSON of a rule's conditions and actions, or a pusher's data, may nest.
MAX_JSON_DEPTH = 32


class SetTweak(msgspec.Struct):
    """An action object: ``{"set_tweak": "sound", "value": "default"}`` (``value`` may be
    absent: ``{"set_tweak": "highlight"}`` means true)."""

    set_tweak: str
    value: Any = msgspec.UNSET


#: An action as clients send it: ``notify``, a historical action (accepted and dropped),
#: or a tweak.
ActionBody = Literal["notify", "dont_notify", "coalesce"] | SetTweak


class PushRuleBody(msgspec.Struct):
    """``PUT /pushrules/global/{kind}/{ruleId}``: ``conditions`` are read for override
    and underride rules, ``pattern`` (required there) for content rules. Conditions are
    free-form objects with a ``kind`` (unknown kinds are kept; they never match)."""

    actions: list[ActionBody]
    conditions: list[dict[str, Any]] | None = None
    pattern: str | None = None


class RuleActionsBody(msgspec.Struct):
    """``PUT …/actions``."""

    actions: list[ActionBody]


class RuleEnabledBody(msgspec.Struct):
    """``PUT …/enabled``."""

    enabled: bool


def _actions(actions: Sequence[ActionBody]) -> list[pr.Action]:
    """The actions as stored and evaluated (a tweak as its JSON object)."""
    return [a if isinstance(a, str) else msgspec.to_builtins(a) for a in actions]


def _unknown_rule() -> MatrixError:
    return errors.not_found("Unknown rule")


#: A push rule in the spec's format (``PushRule.to_json``).
RuleJson = dict[str, Any]


class RulesByKind(msgspec.Struct, frozen=True):
    """A user's rules of every kind, each list in evaluation order."""

    override: list[RuleJson]
    content: list[RuleJson]
    room: list[RuleJson]
    sender: list[RuleJson]
    underride: list[RuleJson]

    @classmethod
    def of(cls, ruleset: pr.Ruleset) -> RulesByKind:
        return cls(**ruleset.to_json())


class PushRulesContent(msgspec.Struct, frozen=True):
    """``GET /pushrules/`` and the content of ``m.push_rules`` account data."""

    global_: RulesByKind = msgspec.field(name="global")


class Notification(msgspec.Struct, frozen=True):
    actions: list[Any]
    #: The client format, without ``room_id`` (it is beside it).
    event: dict[str, Any]
    profile_tag: str
    read: bool
    room_id: str
    ts: int


class NotificationsPage(msgspec.Struct):
    notifications: list[Notification]
    #: There only when older notifications remain.
    next_token: str | UnsetType = UNSET


class PushService:
    def __init__(self, config: Config, storage: Storage, notifier: Notifier,
                 gateway: PushGateway) -> None:
        self._config = config
        self._storage = storage
        self._notifier = notifier
        self._gateway = gateway

    # -- rules -----------------------------------------------------------------------

    async def ruleset(self, user_id: str) -> pr.Ruleset:
        mine = (await self._storage.push.rules_for_users([user_id]))[user_id]
        return pr.build_ruleset(user_id, mine.rules, mine.changes)

    async def push_rules_content(self, user_id: str) -> PushRulesContent:
        """The content of the user's ``m.push_rules`` account data: ``{"global": …}``
        with every kind's rules in evaluation order (server defaults included)."""
        self._gateway.ensure_running()
        return PushRulesContent(RulesByKind.of(await self.ruleset(user_id)))

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

    async def rules_of_kind(self, user_id: str, kind: str) -> list[RuleJson]:
        """``GET /pushrules/global/{kind}/``: one kind's rules."""
        _check_kind_for_read(kind)
        return [r.to_json() for r in (await self.ruleset(user_id)).by_kind.get(kind, [])]

    async def get_rule(self, user_id: str, kind: str, rule_id: str) -> pr.PushRule:
        _check_kind_for_read(kind)
        rule = (await self.ruleset(user_id)).find(kind, rule_id)
        if rule is None:
            raise errors.not_found(f"Unknown push rule {kind}/{rule_id}")
        return rule

    async def put_rule(self, uow: UnitOfWork, kind: str, rule_id: str, body: PushRuleBody,
                       before: str | None, after: str | None) -> None:
        """Create or replace one of the caller's rules, in the request's transaction. A
        new rule goes where ``before`` or ``after`` says, else first of its kind; an
        updated one keeps its place (and its enabled switch) unless they say otherwise."""
        _check_kind_for_write(kind)
        if "/" in rule_id or "\\" in rule_id:
            raise errors.unknown("rule_id may not contain slashes")
        if rule_id.startswith("."):
            raise errors.unknown("cannot add new rule_ids that start with '.'")
        actions = _actions(body.actions)
        check_json_depth([actions, body.conditions], "The push rule")
        rule = pr.rule_from_request(kind, rule_id, actions, body.conditions, body.pattern)
        user_id = uow.requester.user_id
        async with uow.transaction() as tx:
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

    async def delete_rule(self, uow: UnitOfWork, kind: str, rule_id: str) -> None:
        """Delete one of the caller's rules; server-default rules cannot be deleted (404,
        as for a rule that does not exist)."""
        user_id = uow.requester.user_id
        if rule_id.startswith("."):
            raise errors.not_found("Server-default push rules cannot be deleted; disable"
                                   " one with PUT …/enabled instead")
        async with uow.transaction() as tx:
            if kind not in pr.KINDS or not await tx.push.delete_rule(user_id, kind, rule_id):
                raise errors.not_found(f"Unknown push rule {kind}/{rule_id}")
            await self._changed(tx, user_id)
        await self._notifier.notify(users=[user_id])

    async def set_enabled(self, uow: UnitOfWork, kind: str, rule_id: str,
                          body: RuleEnabledBody) -> None:
        """``PUT …/enabled``, for user and server-default rules."""
        _check_kind_for_write(kind)
        await self._set_attribute(uow, kind, rule_id, enabled=body.enabled)

    async def set_actions(self, uow: UnitOfWork, kind: str, rule_id: str,
                          body: RuleActionsBody) -> None:
        """``PUT …/actions``, which may also change a server-default rule's actions."""
        _check_kind_for_write(kind)
        actions = _actions(body.actions)
        check_json_depth(actions, "actions")
        await self._set_attribute(uow, kind, rule_id, actions=actions)

    async def _set_attribute(self, uow: UnitOfWork, kind: str, rule_id: str, *,
                             enabled: bool | None = None,
                             actions: Sequence[pr.Action] | None = None) -> None:
        user_id = uow.requester.user_id
        async with uow.transaction() as tx:
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
                            limit: int | None, only: str | None) -> NotificationsPage:
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
        out: list[Notification] = []
        for n in rows:
            stored = events.get(n.event_id)
            if stored is None:
                continue
            body = client_event(stored, None, now)
            body.pop("room_id", None)
            out.append(Notification(n.actions, body, "",
                                    n.stream <= markers.get(n.room_id, 0), n.room_id, n.ts))
        page = NotificationsPage(out)
        if more and rows:
            page.next_token = str(rows[-1].stream)
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
    if kind not in pr.KINDS:  # Synapse's message ("template" is its word for a kind)
        raise errors.unknown(f"Unknown template: {kind}; the push rule kinds are"
                             f" {', '.join(pr.KINDS)}")


def _check_kind_for_read(kind: str) -> None:
    if kind not in pr.KINDS:
        raise MatrixError(400, "M_UNRECOGNIZED", f"Unknown push rule kind {kind!r}; the"
                          f" kinds are {', '.join(pr.KINDS)}")
