"""Push: users' rules and their changes to the server defaults, notifications, read
positions, pushers, and the queue of pushes to HTTP gateways."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from glia import errors
from glia.protocol.push_rules import Action, DefaultRuleChange, PushRule
from glia.storage.engine import Executor, Row

#: Keeps ``IN (...)`` lists well under both engines' parameter limits.
_CHUNK = 500


def _dumps(value: Any) -> str:
    try:
        return msgspec.json.encode(value).decode()
    except RecursionError as e:  # decodable, but too deep to encode again: refuse it
        raise errors.bad_json("JSON is nested too deeply") from e


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _marks(items: Sequence[Any]) -> str:
    return ", ".join("?" for _ in items)


@dataclass(frozen=True)
class UserRules:
    """A user's own rules (most important first within a kind) and default changes."""

    rules: list[PushRule]
    changes: dict[tuple[str, str], DefaultRuleChange]


@dataclass(frozen=True)
class Notification:
    user_id: str
    room_id: str
    event_id: str
    stream: int
    thread_id: str
    actions: list[Action]
    highlight: bool
    ts: int


@dataclass(frozen=True)
class Pusher:
    user_id: str
    app_id: str
    pushkey: str
    kind: str
    app_display_name: str
    device_display_name: str
    profile_tag: str
    lang: str
    data: dict[str, Any]
    device_id: str | None
    #: When the pushkey was last set, ms.
    pushkey_ts: int
    last_success_ts: int | None = None
    failing_since_ts: int | None = None


@dataclass(frozen=True)
class Delivery:
    """A claimed push: one notification to one pusher."""

    pusher: Pusher
    notification: Notification
    #: Attempts so far, this one included.
    attempts: int
    created_ts: int


_PUSHER_COLUMNS = (
    "user_id, app_id, pushkey, kind, app_display_name, device_display_name, profile_tag,"
    " lang, data, device_id, pushkey_ts, last_success_ts, failing_since_ts"
)
_NOTIFICATION_COLUMNS = "user_id, room_id, event_id, stream, thread_id, actions, highlight, ts"


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _pusher(row: Row, prefix: str = "") -> Pusher:
    return Pusher(
        user_id=row[f"{prefix}user_id"], app_id=row[f"{prefix}app_id"],
        pushkey=row[f"{prefix}pushkey"], kind=row["kind"],
        app_display_name=row["app_display_name"],
        device_display_name=row["device_display_name"], profile_tag=row["profile_tag"],
        lang=row["lang"], data=msgspec.json.decode(row["data"]), device_id=row["device_id"],
        pushkey_ts=int(row["pushkey_ts"]), last_success_ts=_optional_int(row["last_success_ts"]),
        failing_since_ts=_optional_int(row["failing_since_ts"]),
    )


def _notification(row: Row) -> Notification:
    return Notification(
        user_id=row["user_id"], room_id=row["room_id"], event_id=row["event_id"],
        stream=int(row["stream"]), thread_id=row["thread_id"],
        actions=msgspec.json.decode(row["actions"]), highlight=bool(row["highlight"]),
        ts=int(row["ts"]),
    )


def _user_rule(row: Row) -> PushRule:
    conditions = row["conditions"]
    return PushRule(
        kind=row["kind"], rule_id=row["rule_id"],
        actions=tuple(msgspec.json.decode(row["actions"])),
        enabled=bool(row["enabled"]), default=False,
        conditions=None if conditions is None else tuple(msgspec.json.decode(conditions)),
        pattern=row["pattern"],
    )


#: Unread notifications: after the user's read position in the room (0 if none).
_UNREAD = (
    " n.stream > COALESCE((SELECT m.stream FROM push_read_markers m"
    " WHERE m.user_id = n.user_id AND m.room_id = n.room_id), 0)"
)


class PushStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    # -- rules -----------------------------------------------------------------------

    async def rules_for_users(self, user_ids: Sequence[str]) -> dict[str, UserRules]:
        """Every listed user's own rules and default changes: two queries per chunk of
        users, whatever the number of rules (the event writer asks for all of an event's
        recipients at once)."""
        out = {u: UserRules([], {}) for u in user_ids}
        for chunk in _chunks(list(user_ids)):
            rows = await self._db.fetchall(
                "SELECT user_id, kind, rule_id, conditions, pattern, actions, enabled"
                f" FROM push_rules WHERE user_id IN ({_marks(chunk)})"
                " ORDER BY user_id, kind, priority DESC, rule_id", *chunk)
            for row in rows:
                out[row["user_id"]].rules.append(_user_rule(row))
            rows = await self._db.fetchall(
                "SELECT user_id, kind, rule_id, enabled, actions FROM push_rule_defaults"
                f" WHERE user_id IN ({_marks(chunk)})", *chunk)
            for row in rows:
                actions, enabled = row["actions"], row["enabled"]
                out[row["user_id"]].changes[(row["kind"], row["rule_id"])] = DefaultRuleChange(
                    enabled=None if enabled is None else bool(enabled),
                    actions=None if actions is None else tuple(msgspec.json.decode(actions)),
                )
        return out

    async def rule_versions(self, user_ids: Sequence[str]) -> dict[str, int]:
        """The stream position of each user's last rule change (users who never changed
        a rule are left out): the version of their rules."""
        out: dict[str, int] = {}
        for chunk in _chunks(list(user_ids)):
            rows = await self._db.fetchall(
                "SELECT user_id, stream FROM push_rules_stream"
                f" WHERE user_id IN ({_marks(chunk)})", *chunk)
            out.update({r["user_id"]: int(r["stream"]) for r in rows})
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
            None if rule.conditions is None else _dumps(list(rule.conditions)),
            rule.pattern, _dumps(list(rule.actions)), rule.enabled,
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
            _dumps(list(actions)), user_id, kind, rule_id,
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
            None if actions is None else _dumps(list(actions)),
        )

    async def mark_rules_changed(self, user_id: str, stream: int) -> None:
        await self._db.execute(
            "INSERT INTO push_rules_stream (user_id, stream) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET stream = excluded.stream",
            user_id, stream,
        )

    async def rules_changed_at(self, user_id: str) -> int | None:
        """The stream position of the user's last push rule change, if any."""
        return _optional_int(await self._db.fetchval(
            "SELECT stream FROM push_rules_stream WHERE user_id = ?", user_id))

    # -- notifications ---------------------------------------------------------------

    async def add_notifications(self, rows: Sequence[Notification]) -> None:
        """Store notifications; one already stored for that user and event stays as is
        (push evaluation may run twice on an event)."""
        if rows:
            await self._db.executemany(
                f"INSERT INTO push_notifications ({_NOTIFICATION_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, stream) DO NOTHING",
                [(n.user_id, n.room_id, n.event_id, n.stream, n.thread_id, _dumps(n.actions),
                  n.highlight, n.ts) for n in rows],
            )

    async def notified(self, user_ids: Sequence[str], streams: Sequence[int]
                       ) -> set[tuple[str, int]]:
        """Which (user, stream) pairs among ``user_ids`` × ``streams`` have a notification."""
        out: set[tuple[str, int]] = set()
        for chunk in _chunks(list(user_ids)):
            for i in range(0, len(streams), _CHUNK):
                part = streams[i:i + _CHUNK]
                rows = await self._db.fetchall(
                    "SELECT user_id, stream FROM push_notifications"
                    f" WHERE user_id IN ({_marks(chunk)}) AND stream IN ({_marks(part)})",
                    *chunk, *part)
                out.update((r["user_id"], int(r["stream"])) for r in rows)
        return out

    async def queue_deliveries(self, user_ids: Sequence[str], stream: int, now: int) -> int:
        """Queue the notification at ``stream`` for every HTTP pusher of ``user_ids``
        (who were just notified); returns how many pushes were queued."""
        queued = 0
        for chunk in _chunks(list(user_ids)):
            queued += await self._db.execute(
                "INSERT INTO push_deliveries (user_id, app_id, pushkey, stream, attempts,"
                " next_attempt_ts, created_ts) SELECT user_id, app_id, pushkey,"
                " CAST(? AS BIGINT), 0, CAST(? AS BIGINT), CAST(? AS BIGINT)"
                f" FROM pushers WHERE user_id IN ({_marks(chunk)}) AND kind = 'http'",
                stream, now, now, *chunk,
            )
        return queued

    async def delete_event_notifications(self, event_id: str) -> None:
        """Forget the notifications an event caused (it was redacted)."""
        await self._db.execute("DELETE FROM push_notifications WHERE event_id = ?", event_id)

    async def notifications(self, user_id: str, before_stream: int | None, limit: int,
                            highlight_only: bool) -> list[Notification]:
        """A user's notifications, newest first, older than ``before_stream``."""
        where = ["user_id = ?"]
        args: list[Any] = [user_id]
        if before_stream is not None:
            where.append("stream < ?")
            args.append(before_stream)
        if highlight_only:
            where.append("highlight = TRUE")
        rows = await self._db.fetchall(
            f"SELECT {_NOTIFICATION_COLUMNS} FROM push_notifications"
            f" WHERE {' AND '.join(where)} ORDER BY stream DESC LIMIT ?", *args, limit,
        )
        return [_notification(r) for r in rows]

    async def unread_counts(self, user_id: str, room_ids: Sequence[str]
                            ) -> dict[str, tuple[int, int]]:
        """(notification_count, highlight_count) per room, of the notifications after
        the user's read position there; rooms without any are left out."""
        out: dict[str, tuple[int, int]] = {}
        for chunk in _chunks(list(room_ids)):
            rows = await self._db.fetchall(
                "SELECT n.room_id, COUNT(*) AS total,"
                " SUM(CASE WHEN n.highlight THEN 1 ELSE 0 END) AS highlights"
                f" FROM push_notifications n WHERE n.user_id = ?"
                f" AND n.room_id IN ({_marks(chunk)}) AND{_UNREAD} GROUP BY n.room_id",
                user_id, *chunk,
            )
            for row in rows:
                out[row["room_id"]] = (int(row["total"]), int(row["highlights"] or 0))
        return out

    async def total_unread(self, user_id: str) -> int:
        """Unread notifications across all rooms (the push gateway's ``counts.unread``)."""
        return int(await self._db.fetchval(
            f"SELECT COUNT(*) FROM push_notifications n WHERE n.user_id = ? AND{_UNREAD}",
            user_id) or 0)

    async def read_markers(self, user_id: str, room_ids: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in _chunks(list(room_ids)):
            rows = await self._db.fetchall(
                "SELECT room_id, stream FROM push_read_markers WHERE user_id = ?"
                f" AND room_id IN ({_marks(chunk)})", user_id, *chunk)
            out.update({r["room_id"]: int(r["stream"]) for r in rows})
        return out

    async def mark_read(self, user_id: str, room_id: str, stream: int) -> None:
        """Move the user's read position in a room forwards to ``stream`` (never back);
        an unknown room is ignored."""
        await self._db.execute(
            "INSERT INTO push_read_markers (user_id, room_id, stream)"
            " SELECT ?, ?, CAST(? AS BIGINT)"
            " WHERE EXISTS (SELECT 1 FROM rooms WHERE room_id = ?)"
            " ON CONFLICT (user_id, room_id) DO UPDATE SET stream = excluded.stream"
            " WHERE push_read_markers.stream < excluded.stream",
            user_id, room_id, stream, room_id,
        )

    async def delete_read_before(self, before_ts: int, limit: int) -> int:
        """Retention: delete up to ``limit`` read notifications older than ``before_ts``."""
        return await self._db.execute(
            "DELETE FROM push_notifications WHERE (user_id, stream) IN ("
            " SELECT n.user_id, n.stream FROM push_notifications n WHERE n.ts < ?"
            " AND n.stream <= COALESCE((SELECT m.stream FROM push_read_markers m"
            " WHERE m.user_id = n.user_id AND m.room_id = n.room_id), 0) LIMIT ?)",
            before_ts, limit,
        )

    # -- pushers -----------------------------------------------------------------------

    async def pushers_of_user(self, user_id: str) -> list[Pusher]:
        rows = await self._db.fetchall(
            f"SELECT {_PUSHER_COLUMNS} FROM pushers WHERE user_id = ?"
            " ORDER BY app_id, pushkey", user_id,
        )
        return [_pusher(r) for r in rows]

    async def upsert_pusher(self, p: Pusher) -> None:
        """Create or update a pusher. Its device is kept on update (another of the user's
        devices may edit it) and only recorded if it exists."""
        await self._db.execute(
            f"INSERT INTO pushers ({_PUSHER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " (SELECT device_id FROM devices WHERE user_id = ? AND device_id = ?),"
            " ?, NULL, NULL)"
            " ON CONFLICT (app_id, pushkey, user_id) DO UPDATE SET kind = excluded.kind,"
            " app_display_name = excluded.app_display_name,"
            " device_display_name = excluded.device_display_name,"
            " profile_tag = excluded.profile_tag, lang = excluded.lang, data = excluded.data,"
            " device_id = COALESCE(pushers.device_id, excluded.device_id),"
            " pushkey_ts = excluded.pushkey_ts, failing_since_ts = NULL",
            p.user_id, p.app_id, p.pushkey, p.kind, p.app_display_name,
            p.device_display_name, p.profile_tag, p.lang, _dumps(p.data),
            p.user_id, p.device_id, p.pushkey_ts,
        )

    async def delete_pusher(self, user_id: str, app_id: str, pushkey: str) -> bool:
        return await self._db.execute(
            "DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?",
            user_id, app_id, pushkey,
        ) > 0

    async def delete_pushers_of_others(self, app_id: str, pushkey: str,
                                       keep_user_id: str) -> int:
        """Without ``append``, a pushkey belongs to one user: drop other users' pushers."""
        return await self._db.execute(
            "DELETE FROM pushers WHERE app_id = ? AND pushkey = ? AND user_id <> ?",
            app_id, pushkey, keep_user_id,
        )

    async def pending_deliveries(self, user_id: str) -> dict[tuple[str, str], int]:
        """Queued pushes per (app_id, pushkey) of a user's pushers."""
        rows = await self._db.fetchall(
            "SELECT app_id, pushkey, COUNT(*) AS queued FROM push_deliveries"
            " WHERE user_id = ? GROUP BY app_id, pushkey", user_id)
        return {(r["app_id"], r["pushkey"]): int(r["queued"]) for r in rows}

    # -- delivery queue ----------------------------------------------------------------

    async def claim_due(self, now: int, lease_until: int, limit: int) -> list[Delivery]:
        """Claim up to ``limit`` due pushes until ``lease_until``: another process (or this
        one after a crash) only retries a claimed push once the lease ran out."""
        claimed = await self._db.fetchall(
            "UPDATE push_deliveries SET next_attempt_ts = ?, attempts = attempts + 1"
            " WHERE next_attempt_ts <= ? AND (user_id, app_id, pushkey, stream) IN ("
            " SELECT user_id, app_id, pushkey, stream FROM push_deliveries"
            " WHERE next_attempt_ts <= ? ORDER BY next_attempt_ts LIMIT ?)"
            " RETURNING user_id, app_id, pushkey, stream, attempts, created_ts",
            lease_until, now, now, limit,
        )
        if not claimed:
            return []
        keys = {(r["user_id"], r["app_id"], r["pushkey"], int(r["stream"])): r for r in claimed}
        users = sorted({k[0] for k in keys})
        streams = sorted({k[3] for k in keys})
        pushers: dict[tuple[str, str, str], Pusher] = {}
        notifications: dict[tuple[str, int], Notification] = {}
        for chunk in _chunks(users):
            for row in await self._db.fetchall(
                    f"SELECT {_PUSHER_COLUMNS} FROM pushers WHERE user_id IN ({_marks(chunk)})",
                    *chunk):
                p = _pusher(row)
                pushers[(p.user_id, p.app_id, p.pushkey)] = p
            for row in await self._db.fetchall(
                    f"SELECT {_NOTIFICATION_COLUMNS} FROM push_notifications"
                    f" WHERE user_id IN ({_marks(chunk)})"
                    f" AND stream IN ({_marks(streams)})", *chunk, *streams):
                n = _notification(row)
                notifications[(n.user_id, n.stream)] = n
        out = []
        for (user_id, app_id, pushkey, stream), row in keys.items():
            found = pushers.get((user_id, app_id, pushkey))
            notification = notifications.get((user_id, stream))
            if found is not None and notification is not None:
                out.append(Delivery(found, notification, int(row["attempts"]),
                                    int(row["created_ts"])))
        return out

    async def finish_delivery(self, d: Delivery) -> None:
        """The push is done with: delivered, not needed any more, or given up."""
        await self._db.execute(
            "DELETE FROM push_deliveries WHERE user_id = ? AND app_id = ? AND pushkey = ?"
            " AND stream = ?", d.pusher.user_id, d.pusher.app_id, d.pusher.pushkey,
            d.notification.stream,
        )

    async def retry_delivery(self, d: Delivery, at: int) -> None:
        await self._db.execute(
            "UPDATE push_deliveries SET next_attempt_ts = ? WHERE user_id = ? AND app_id = ?"
            " AND pushkey = ? AND stream = ?", at, d.pusher.user_id, d.pusher.app_id,
            d.pusher.pushkey, d.notification.stream,
        )

    async def delivered(self, pusher: Pusher, now: int) -> None:
        await self._db.execute(
            "UPDATE pushers SET last_success_ts = ?, failing_since_ts = NULL"
            " WHERE user_id = ? AND app_id = ? AND pushkey = ?",
            now, pusher.user_id, pusher.app_id, pusher.pushkey,
        )

    async def delivery_failed(self, pusher: Pusher, now: int) -> int:
        """Record that a push to this pusher failed; returns since when it has failed."""
        since = await self._db.fetchval(
            "UPDATE pushers SET failing_since_ts = COALESCE(failing_since_ts, ?)"
            " WHERE user_id = ? AND app_id = ? AND pushkey = ? RETURNING failing_since_ts",
            now, pusher.user_id, pusher.app_id, pusher.pushkey,
        )
        return now if since is None else int(since)

    async def postpone_pusher(self, pusher: Pusher, until: int) -> None:
        """Hold back every queued push of a failing pusher until ``until`` (one backoff per
        gateway, not one per push)."""
        await self._db.execute(
            "UPDATE push_deliveries SET next_attempt_ts = ? WHERE app_id = ? AND pushkey = ?"
            " AND user_id = ? AND next_attempt_ts < ?",
            until, pusher.app_id, pusher.pushkey, pusher.user_id, until,
        )

    async def next_due(self) -> int | None:
        """When the earliest queued push is due (ms), or None if the queue is empty."""
        return _optional_int(await self._db.fetchval(
            "SELECT MIN(next_attempt_ts) FROM push_deliveries"))
