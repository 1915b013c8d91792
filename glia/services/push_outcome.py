"""What one event does to its recipients' notifications, decided once per event: the
outcome most of the room's joined recipients share is stored once, room-wide (see
``glia.storage.push.notifications``), and only the recipients it does not fit get rows of
their own, so a message into a room of thousands writes a handful of rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from glia.protocol import push_rules as pr
from glia.storage.events import StoredEvent
from glia.storage.push import Notification, RoomNotification

__all__ = ["EventOutcome"]

#: One recipient's outcome: (key comparing outcomes, actions, notifies, highlights).
_Outcome = tuple[bytes, list[pr.Action], bool, bool]


@dataclass(frozen=True)
class EventOutcome:
    """What one event does to its recipients: the outcome most joined recipients share
    (stored once, room-wide, when it notifies) and the rows of those it does not fit,
    of invitees, and of users with an HTTP pusher (whose pushes need a row of their own)."""

    event_id: str
    stream: int
    ts: int
    room_wide: RoomNotification | None
    own: list[Notification]
    pusher_users: frozenset[str]

    @classmethod
    def of(cls, event: StoredEvent, thread_id: str, now: int, recipients: Mapping[str, str],
           joined: Mapping[str, str], winners: Mapping[str, pr.PushRule],
           pusher_users: frozenset[str]) -> EventOutcome:
        # Most members share a few winning rules: read each one's actions once.
        by_rule: dict[int, _Outcome] = {}
        nothing: _Outcome = (b"", [], False, False)
        mine: dict[str, _Outcome] = {}
        for user_id in recipients:
            rule = winners.get(user_id)
            if rule is None:
                mine[user_id] = nothing
                continue
            outcome = by_rule.get(id(rule))
            if outcome is None:
                actions = pr.effective_actions(rule.actions)
                highlight = pr.highlights(actions)
                outcome = by_rule[id(rule)] = (
                    msgspec.json.encode([actions, highlight]), actions,
                    pr.notifies(actions), highlight)
            mine[user_id] = outcome
        shared = Counter(mine[u][0] for u in recipients if u in joined)
        most = max(shared.values(), default=0)
        common = next((mine[u] for u in recipients if u in joined
                       and shared[mine[u][0]] == most), nothing)
        room_id, stream = event.room_id, event.stream_ordering
        room_wide = None
        if common[2]:
            room_wide = RoomNotification(room_id, event.event_id, stream, event.sender,
                                         thread_id, common[1], common[3], now)
        own: list[Notification] = []
        for user_id, (key, actions, notifies, highlight) in mine.items():
            covered = room_wide is not None and user_id in joined
            if covered and key == common[0] and user_id not in pusher_users:
                continue
            if notifies or covered:
                own.append(Notification(user_id, room_id, event.event_id, stream, thread_id,
                                        actions, highlight, now, notify=notifies))
        return cls(event.event_id, stream, now, room_wide, own, pusher_users)
