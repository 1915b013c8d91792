"""Users' own push rules, their changes to the server-default rules, and the stream
position of each user's last change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from glia.protocol.push_rules import Action, DefaultRuleChange, PushRule
from glia.storage.engine import Row
from glia.storage.push.common import StoreBase, chunks, dumps, marks, optional_int


@dataclass(frozen=True)
class UserRules:
    """A user's own rules (most important first within a kind) and default changes."""

    rules: list[PushRule]
    changes: dict[tuple[str, str], DefaultRuleChange]


def _user_rule(row: Row) -> PushRule:
    conditions = row["conditions"]
    return PushRule(
        kind=row["kind"], rule_id=row["rule_id"],
        actions=tuple(msgspec.json.decode(row["actions"])),
        enabled=bool(row["enabled"]), default=False,
        conditions=None if conditions is None else tuple(msgspec.json.decode(conditions)),
        pattern=row["pattern"],
    )


def _default_change(row: Row) -> DefaultRuleChange:
    actions, enabled = row["actions"], row["enabled"]
    return DefaultRuleChange(
        enabled=None if enabled is None else bool(enabled),
        actions=None if actions is None else tuple(msgspec.json.decode(actions)),
    )


class PushRuleStore(StoreBase):
    async def rules_for_users(self, user_ids: Sequence[str]) -> dict[str, UserRules]:
        """Every listed user's own rules and default changes: two queries per chunk of
        users, whatever the number of rules (the event writer asks for all of an event's
        recipients at once)."""
        out = {u: UserRules([], {}) for u in user_ids}
        for chunk in chunks(list(user_ids)):
            rows = await self._db.fetchall(
                "SELECT user_id, kind, rule_id, conditions, pattern, actions, enabled"
                f" FROM push_rules WHERE user_id IN ({marks(chunk)})"
                " ORDER BY user_id, kind, priority DESC, rule_id", *chunk)
            for row in rows:
                out[row["user_id"]].rules.append(_user_rule(row))
            rows = await self._db.fetchall(
                "SELECT user_id, kind, rule_id, enabled, actions FROM push_rule_defaults"
                f" WHERE user_id IN ({marks(chunk)})", *chunk)
            for row in rows:
                out[row["user_id"]].changes[(row["kind"], row["rule_id"])] = \
                    _default_change(row)
        return out

    async def rules_of_members(self, room_id: str, stream: int) -> dict[str, UserRules]:
        """The own rules and default changes of the room's joined members at ``stream``
        who have any (members left out have the bare defaults): two queries, whatever
        the size of the room."""
        members = (
            " JOIN room_state m ON m.state_key = r.user_id WHERE m.room_id = ?"
            " AND m.type = 'm.room.member' AND m.membership = 'join'"
            " AND m.from_stream <= ? AND (m.to_stream IS NULL OR m.to_stream > ?)"
        )
        out: dict[str, UserRules] = {}
        rows = await self._db.fetchall(
            "SELECT r.user_id, r.kind, r.rule_id, r.conditions, r.pattern, r.actions,"
            f" r.enabled FROM push_rules r{members}"
            " ORDER BY r.user_id, r.kind, r.priority DESC, r.rule_id",
            room_id, stream, stream)
        for row in rows:
            out.setdefault(row["user_id"], UserRules([], {})).rules.append(_user_rule(row))
        rows = await self._db.fetchall(
            "SELECT r.user_id, r.kind, r.rule_id, r.enabled, r.actions"
            f" FROM push_rule_defaults r{members}", room_id, stream, stream)
        for row in rows:
            mine = out.setdefault(row["user_id"], UserRules([], {}))
            mine.changes[(row["kind"], row["rule_id"])] = _default_change(row)
        return out

    async def rules_of_kind(self, user_id: str, kind: str) -> list[PushRule]:
        """A user's own rules of one kind, most important first."""
        rows = await self._db.fetchall(
            "SELECT kind, rule_id, conditions, pattern, actions, enabled FROM push_rules"
            " WHERE user_id = ? AND kind = ? ORDER BY priority DESC, rule_id",
            user_id, kind,
        )
        return [_user_rule(r) for r in rows]

    async def upsert_rule(self, user_id: str, rule: PushRule, keep_enabled: bool) -> None:
        """Create or replace a rule (priority 0 until :meth:`set_priorities`);
        ``keep_enabled`` leaves an existing rule's switch as it is."""
        enabled_update = "" if keep_enabled else ", enabled = excluded.enabled"
        await self._db.execute(
            "INSERT INTO push_rules (user_id, kind, rule_id, priority, conditions, pattern,"
            " actions, enabled) VALUES (?, ?, ?, 0, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, kind, rule_id) DO UPDATE SET"
            " conditions = excluded.conditions, pattern = excluded.pattern,"
            f" actions = excluded.actions{enabled_update}",
            user_id, rule.kind, rule.rule_id,
            None if rule.conditions is None else dumps(list(rule.conditions)),
            rule.pattern, dumps(list(rule.actions)), rule.enabled,
        )

    async def set_priorities(self, user_id: str, kind: str,
                             ordered_rule_ids: Sequence[str]) -> None:
        """Renumber a kind's rules: the first is the most important."""
        total = len(ordered_rule_ids)
        await self._db.executemany(
            "UPDATE push_rules SET priority = ? WHERE user_id = ? AND kind = ?"
            " AND rule_id = ?",
            [(total - i, user_id, kind, rule_id) for i, rule_id in enumerate(ordered_rule_ids)],
        )

    async def delete_rule(self, user_id: str, kind: str, rule_id: str) -> bool:
        return await self._db.execute(
            "DELETE FROM push_rules WHERE user_id = ? AND kind = ? AND rule_id = ?",
            user_id, kind, rule_id,
        ) > 0

    async def set_rule_enabled(self, user_id: str, kind: str, rule_id: str,
                               enabled: bool) -> bool:
        return await self._db.execute(
            "UPDATE push_rules SET enabled = ? WHERE user_id = ? AND kind = ? AND rule_id = ?",
            enabled, user_id, kind, rule_id,
        ) > 0

    async def set_rule_actions(self, user_id: str, kind: str, rule_id: str,
                               actions: Sequence[Action]) -> bool:
        return await self._db.execute(
            "UPDATE push_rules SET actions = ? WHERE user_id = ? AND kind = ? AND rule_id = ?",
            dumps(list(actions)), user_id, kind, rule_id,
        ) > 0

    async def change_default_rule(self, user_id: str, kind: str, rule_id: str, *,
                                  enabled: bool | None = None,
                                  actions: Sequence[Action] | None = None) -> None:
        """Record a change to a server-default rule (only the given field changes)."""
        enabled_sql = "excluded.enabled" if enabled is not None else "push_rule_defaults.enabled"
        actions_sql = "excluded.actions" if actions is not None else "push_rule_defaults.actions"
        await self._db.execute(
            "INSERT INTO push_rule_defaults (user_id, kind, rule_id, enabled, actions)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, kind, rule_id) DO UPDATE SET"
            f" enabled = {enabled_sql}, actions = {actions_sql}",
            user_id, kind, rule_id, enabled,
            None if actions is None else dumps(list(actions)),
        )

    async def mark_rules_changed(self, user_id: str, stream: int) -> None:
        await self._db.execute(
            "INSERT INTO push_rules_stream (user_id, stream) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET stream = excluded.stream",
            user_id, stream,
        )

    async def rules_changed_at(self, user_id: str) -> int | None:
        """The stream position of the user's last push rule change, if any."""
        return optional_int(await self._db.fetchval(
            "SELECT stream FROM push_rules_stream WHERE user_id = ?", user_id))
