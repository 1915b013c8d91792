"""A member's settings follow them into an upgraded room (the spec's Room Upgrades
module, server behaviour: "When a user joins the new room, the server should
automatically transfer/replicate some of the user's personalized settings such as
notifications, tags, etc.").

When a local user newly joins a room whose ``m.room.create`` names a ``predecessor``,
what they set for the predecessor is copied to the new room, as Synapse copies it:

- the room's tags (``m.tag`` room account data), unless they tagged the new room already;
- the new room is added next to the old one in their ``m.direct`` lists (a direct chat
  stays one), unless it is listed there already;
- their enabled push rules for the old room: the ``room`` rule whose ID is the old
  room's, and ``override``/``underride`` rules with an ``event_match`` condition on
  ``room_id`` naming it. The copy's ID is the new room's ID (Synapse's re-keying), its
  ``room_id`` conditions name the new room, and it goes first in its kind; a rule of that
  ID the user already has in the new room is left as it is.

It is an event subscriber (``services/event_fanout.py``): it runs after the join
committed, and never writes over what is there, so running twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from glia.ids import is_valid_room_id
from glia.protocol.push_rules import PushRule
from glia.services.account_data import TAG, AccountDataService
from glia.services.event_fanout import WrittenEvent
from glia.services.notifier import Notifier
from glia.services.targets import is_local
from glia.storage import Storage, Stores
from glia.storage.account_data import GLOBAL

logger = logging.getLogger(__name__)

DIRECT = "m.direct"


class UpgradeFollow:
    """An event subscriber: copies a newly joined local member's tags, ``m.direct``
    entry and push rules from the joined room's predecessor."""

    name = "upgrade_follow"

    def __init__(self, server_name: str, storage: Storage, notifier: Notifier) -> None:
        self._server_name = server_name
        self._storage = storage
        self._notifier = notifier

    async def handle(self, events: Sequence[WrittenEvent]) -> None:
        for written in events:
            event = written.event
            user_id = event.state_key
            if event.type != "m.room.member" or user_id is None \
                    or event.content.get("membership") != "join" \
                    or _previous_membership(event.unsigned) == "join" \
                    or not is_local(user_id, self._server_name):
                continue
            old_room_id = await self._predecessor(event.room_id)
            if old_room_id is not None:
                await self.copy(user_id, old_room_id, event.room_id)

    async def _predecessor(self, room_id: str) -> str | None:
        key = ("m.room.create", "")
        ids = await self._storage.state.current_ids(room_id, [key])
        create = await self._storage.events.get(ids[key]) if key in ids else None
        predecessor = create.content.get("predecessor") if create is not None else None
        old = predecessor.get("room_id") if isinstance(predecessor, dict) else None
        if isinstance(old, str) and is_valid_room_id(old) and old != room_id:
            return old
        return None

    async def copy(self, user_id: str, old_room_id: str, new_room_id: str) -> None:
        """Copy what ``user_id`` set for ``old_room_id`` to ``new_room_id``, keeping what
        they already set there; one transaction."""
        async with self._storage.transaction() as tx:
            changed = await _copy_tags(tx, user_id, old_room_id, new_room_id)
            changed |= await _copy_direct(tx, user_id, old_room_id, new_room_id)
            changed |= await _copy_push_rules(tx, user_id, old_room_id, new_room_id)
        if changed:
            logger.info("copied %s's settings from %s to its replacement %s", user_id,
                        old_room_id, new_room_id)
            await self._notifier.notify(users=[user_id])


def _previous_membership(unsigned: dict[str, Any]) -> object:
    previous = unsigned.get("prev_content")
    return previous.get("membership") if isinstance(previous, dict) else None


async def _copy_tags(tx: Stores, user_id: str, old_room_id: str, new_room_id: str) -> bool:
    old = _tags(await tx.account_data.get(user_id, old_room_id, TAG))
    if not old or _tags(await tx.account_data.get(user_id, new_room_id, TAG)):
        return False
    await AccountDataService.write_in(tx, user_id, new_room_id, TAG, {"tags": old})
    return True


def _tags(content: dict[str, Any] | None) -> dict[str, Any]:
    tags = (content or {}).get("tags")
    return tags if isinstance(tags, dict) else {}


async def _copy_direct(tx: Stores, user_id: str, old_room_id: str, new_room_id: str) -> bool:
    content = await tx.account_data.get(user_id, GLOBAL, DIRECT)
    if not content:
        return False
    lists = {who: rooms for who, rooms in content.items() if isinstance(rooms, list)}
    if any(new_room_id in rooms for rooms in lists.values()):
        return False
    for who, rooms in sorted(lists.items()):
        if old_room_id in rooms:
            updated = dict(content)
            updated[who] = [*rooms, new_room_id]
            await AccountDataService.write_in(tx, user_id, GLOBAL, DIRECT, updated)
            return True
    return False


async def _copy_push_rules(tx: Stores, user_id: str, old_room_id: str,
                           new_room_id: str) -> bool:
    rules = (await tx.push.rules_for_users([user_id]))[user_id].rules
    existing = {(r.kind, r.rule_id) for r in rules}
    # Every copy of a kind is re-keyed to the new room's ID: the kind's most important
    # rule about the old room is the one copied (``rules`` are in that order).
    copies: dict[str, PushRule] = {}
    for rule in rules:
        copy = _rule_copy(rule, old_room_id, new_room_id) if rule.enabled else None
        if copy is not None and (copy.kind, copy.rule_id) not in existing:
            copies.setdefault(copy.kind, copy)
    if not copies:
        return False
    # Marked first, as ``PushService`` does, so concurrent changes of the user's rules
    # queue on that row; the kinds are read again under it.
    await tx.push.mark_rules_changed(user_id, await tx.next_stream_position())
    for kind, copy in sorted(copies.items()):
        ids = [r.rule_id for r in await tx.push.rules_of_kind(user_id, kind)]
        if copy.rule_id not in ids:
            await tx.push.upsert_rule(user_id, copy, keep_enabled=False)
            await tx.push.set_priorities(user_id, kind, [copy.rule_id, *ids])
    return True


def _rule_copy(rule: PushRule, old_room_id: str, new_room_id: str) -> PushRule | None:
    """The rule for the new room that ``rule`` is for the old one (None: not a rule
    about the old room)."""
    if rule.kind == "room":
        return replace(rule, rule_id=new_room_id) if rule.rule_id == old_room_id else None
    if rule.kind not in ("override", "underride") or not rule.conditions:
        return None
    names_old = [_names_room(c, old_room_id) for c in rule.conditions]
    if not any(names_old):
        return None
    conditions = tuple({**c, "pattern": new_room_id} if named else c
                       for c, named in zip(rule.conditions, names_old, strict=True))
    return replace(rule, rule_id=new_room_id, conditions=conditions)


def _names_room(condition: dict[str, Any], room_id: str) -> bool:
    return condition.get("kind") == "event_match" and condition.get("key") == "room_id" \
        and condition.get("pattern") == room_id
