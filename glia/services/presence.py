"""Presence: online / unavailable / offline, set explicitly or by syncing, with
timeouts (a user who stops syncing goes offline; one idle for long goes unavailable)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.clock import Clock, SystemClock
from glia.ids import InvalidId, parse_user_id
from glia.services.notifier import Notifier
from glia.storage import Storage, Stores
from glia.storage.presence import Presence

if TYPE_CHECKING:
    from glia.services.appservices.ephemeral import AppServiceEphemeral
    from glia.services.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

STATES = ("online", "unavailable", "offline")
#: A user whose syncs stopped this long ago is offline (Synapse uses the same 30 s).
SYNC_TIMEOUT_MS = 30_000
#: How stale the recorded time of a user's last sync may get (well under the timeout).
SYNC_TOUCH_INTERVAL_MS = 5_000
#: Online but not active for this long reads as unavailable.
IDLE_TIMEOUT_MS = 5 * 60_000
MAX_STATUS_LENGTH = 1024
#: Another server's user not heard of for this long is offline (Synapse's federation
#: timeout: their server repeats an unchanged online presence more often than that).
REMOTE_TIMEOUT_MS = 30 * 60_000


class PresenceStatus(msgspec.Struct):
    """A user's presence (``/presence/{userId}/status`` and ``m.presence`` content);
    what is unknown is left out."""

    presence: str
    last_active_ago: int | UnsetType = UNSET
    currently_active: bool | UnsetType = UNSET
    status_msg: str | UnsetType = UNSET


class PresenceService:
    def __init__(self, storage: Storage, notifier: Notifier, clock: Clock | None = None,
                 appservices: AppServiceEphemeral | None = None, *,
                 server_name: str | None = None,
                 listener: Callable[[str], Awaitable[None]] | None = None) -> None:
        """``listener`` hears of every presence change (the federation sender passes
        our users' on); ``server_name`` tells our users from other servers' (whose
        presence their servers send us)."""
        self._server_name = server_name
        self._listener = listener
        self._appservices = appservices
        self._clock = clock or SystemClock()
        self._storage = storage
        self._notifier = notifier

    async def _write(self, presence: Presence) -> None:
        async with self._storage.transaction() as tx:
            await self._write_in(tx, presence)
        await self._notify(presence.user_id)

    @staticmethod
    async def _write_in(tx: Stores, presence: Presence) -> None:
        """Store ``presence`` at a new stream position in ``tx``."""
        stream = await tx.next_stream_position()
        await tx.presence.put(Presence(presence.user_id, presence.state,
                                       presence.status_msg, presence.last_active_ts,
                                       presence.last_sync_ts, stream))

    async def _notify(self, user_id: str) -> None:
        """Wake the user's syncs and those of everyone sharing a room with them."""
        rooms = await self._storage.state.rooms_of_user(user_id, ["join"])
        await self._notifier.notify(users=[user_id], rooms=[m.room_id for m in rooms])
        if self._appservices is not None:
            await self._appservices.presence(user_id, [m.room_id for m in rooms])
        if self._listener is not None:
            try:
                await self._listener(user_id)
            except Exception:  # the change is written; passing it on is best effort
                logger.exception("passing on the presence of %s failed", user_id)

    def _is_remote(self, user_id: str) -> bool:
        try:
            return self._server_name is not None and \
                parse_user_id(user_id).domain != self._server_name
        except InvalidId:
            return False

    async def set_remote(self, user_id: str, presence: str, status_msg: str | None,
                         last_active_ago: int | None, currently_active: bool) -> None:
        """Another server's user's presence, as their server sent it."""
        now = self._clock.now_ms()
        ago = 0 if currently_active or last_active_ago is None else last_active_ago
        await self._write(Presence(user_id, presence, status_msg, now - ago, now, 0))

    async def set_status(self, uow: UnitOfWork, user_id: str, presence: str,
                         status_msg: str | None = None) -> None:
        """The caller sets their own presence, in the request's transaction."""
        if uow.requester.user_id != user_id:
            raise errors.forbidden("You may only set your own presence")
        if presence not in STATES:
            raise errors.bad_json(f"'presence' must be one of {list(STATES)}")
        if status_msg is not None and len(status_msg) > MAX_STATUS_LENGTH:
            raise errors.bad_json("'status_msg' must be a string of at most"
                                  f" {MAX_STATUS_LENGTH} characters")
        now = self._clock.now_ms()
        async with uow.transaction() as tx:
            current = await tx.presence.get(user_id)
            await self._write_in(tx, Presence(user_id, presence, status_msg, now,
                                              current.last_sync_ts if current else now, 0))
        await self._notify(user_id)

    async def get_status(self, requester_id: str, user_id: str) -> PresenceStatus:
        """A user's presence, for themselves or someone who shares a room with them (the
        spec's rule: presence is for those who share a room or are subscribed)."""
        try:
            parse_user_id(user_id)
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        if not self._is_remote(user_id) and await self._storage.users.get(user_id) is None:
            raise errors.not_found(f"Unknown user {user_id}")
        if requester_id != user_id and not await self._storage.state.share_a_room(
                requester_id, user_id):
            raise errors.forbidden("You are not allowed to see their presence.")
        presence = await self._storage.presence.get(user_id)
        if presence is None:
            return PresenceStatus("offline")
        return self.content(presence, self._clock.now_ms())

    @staticmethod
    def content(p: Presence, now: int) -> PresenceStatus:
        out = PresenceStatus(p.state, max(0, now - p.last_active_ts))
        if p.state == "online":
            out.currently_active = now - p.last_active_ts < IDLE_TIMEOUT_MS
        if p.status_msg is not None:
            out.status_msg = p.status_msg
        return out

    async def on_sync(self, user_id: str, set_presence: str | None) -> None:
        """A sync is activity: it sets ``set_presence`` (default online) unless the user
        chose a state explicitly that the sync does not override."""
        if set_presence is not None and set_presence not in STATES:
            raise errors.invalid_param(f"set_presence must be one of {list(STATES)}")
        state = set_presence or "online"
        now = self._clock.now_ms()
        current = await self._storage.presence.get(user_id)
        if current is not None and (current.state == state or (
                set_presence is None and current.state == "unavailable")):
            # A sync every few seconds is normal; one write per long-poll would put the
            # writer on every sync's path for a time the timeout only needs coarsely.
            if now - current.last_sync_ts >= SYNC_TOUCH_INTERVAL_MS:
                await self._storage.presence.touch_sync(user_id, now)
            return
        if state == "offline" and current is None:
            return
        await self._write(Presence(user_id, state,
                                   current.status_msg if current else None,
                                   now if state == "online" else
                                   (current.last_active_ts if current else now), now, 0))

    async def expire(self) -> int:
        """Users who stopped syncing go offline."""
        now = self._clock.now_ms()
        stale = [p for p in await self._storage.presence.stale_online(now - SYNC_TIMEOUT_MS)
                 # Other servers' users: offline once their server fell silent.
                 if not self._is_remote(p.user_id)
                 or p.last_sync_ts < now - REMOTE_TIMEOUT_MS]
        for p in stale:
            await self._write(Presence(p.user_id, "offline", p.status_msg, p.last_active_ts,
                                       p.last_sync_ts, 0))
        return len(stale)

    async def run_expiry(self, interval: float = 5.0) -> None:
        while True:
            await self._clock.sleep(interval)
            try:
                await self.expire()
            except Exception:
                logger.exception("presence expiry failed")

    async def sync_events(self, user_id: str, room_ids: list[str], since: int | None,
                          upto: int, newly_shared: set[str]) -> list[dict[str, Any]]:
        """Presence for a sync over (since, upto]: what changed for the user and for the
        members of their rooms, plus the current presence of ``newly_shared`` users (who
        came to share a room with them in the window, so the client has not seen it)."""
        now = self._clock.now_ms()
        store = self._storage.presence
        found = {p.user_id: p for p in await store.changed_in_rooms(room_ids, since, upto)}
        found.update((p.user_id, p) for p in await store.of_users([user_id], since, upto))
        fresh = sorted(newly_shared - found.keys() - {user_id})
        found.update((p.user_id, p) for p in await store.of_users(fresh, None, upto))
        return [{"type": "m.presence", "sender": p.user_id, "content": self.content(p, now)}
                for p in sorted(found.values(), key=lambda p: p.stream)]
