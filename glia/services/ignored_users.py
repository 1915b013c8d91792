"""Ignoring users (the spec's "Ignoring Users" module): ``m.ignored_user_list`` in a user's
global account data names whom they ignore. ``/sync`` then leaves out those users' events
(their state events excepted, so the room does not look different) and their invites.
When someone is taken off the list, ``/sync`` sends the rooms shared with them again as a
limited timeline over the room's latest events, so their history comes back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from glia.storage import Storage, Stores
from glia.storage.account_data import GLOBAL
from glia.storage.events import StoredEvent

IGNORED_USER_LIST = "m.ignored_user_list"


def ignored_in(content: dict[str, Any] | None) -> set[str]:
    """The users an ``m.ignored_user_list`` content names (anything malformed: none)."""
    users = (content or {}).get("ignored_users")
    return {u for u in users if isinstance(u, str)} if isinstance(users, dict) else set()


async def record_change(tx: Stores, user_id: str, new: dict[str, Any],
                        stream: int) -> None:
    """Before ``new`` replaces the list in ``tx``: note whom it stops ignoring."""
    old = await tx.account_data.get(user_id, GLOBAL, IGNORED_USER_LIST)
    dropped = sorted(ignored_in(old) - ignored_in(new))
    if dropped:
        await tx.account_data.record_unignored(user_id, dropped, stream)


@dataclass(frozen=True)
class IgnoreView:
    """Whom a user ignores now, and whom they stopped ignoring in a sync's window."""

    ignored: set[str] = field(default_factory=set)
    unignored: set[str] = field(default_factory=set)

    def hides(self, event: StoredEvent) -> bool:
        return event.sender in self.ignored and event.state_key is None

    async def hides_invite(self, storage: Storage, invite_event_id: str) -> bool:
        """The spec: an invite from an ignored user is never sent."""
        invite = await storage.events.get(invite_event_id)
        return invite is not None and invite.sender in self.ignored

    async def rooms_to_resend(self, storage: Storage, joined: list[str]) -> set[str]:
        """The joined rooms shared (now or before) with someone no longer ignored: sent
        again from their latest events, limited, so that user's history comes back."""
        rooms: set[str] = set()
        for other in sorted(self.unignored):
            rooms |= {m.room_id for m in await storage.state.rooms_of_user(
                other, ["join", "invite", "knock", "leave", "ban"])}
        return rooms & set(joined)


async def ignore_view(storage: Storage, user_id: str, since: int | None,
                      upto: int) -> IgnoreView:
    ignored = ignored_in(await storage.account_data.get(user_id, GLOBAL, IGNORED_USER_LIST))
    unignored: set[str] = set()
    if since is not None:
        unignored = await storage.account_data.unignored(user_id, since, upto) - ignored
    return IgnoreView(ignored, unignored)
