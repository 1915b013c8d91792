"""Typing notifications: stored in the database so every process sees them, with a
stream position per change so ``/sync`` resends a room's list when it changes —
including when a timeout ends someone's typing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from glia import errors
from glia.clock import Clock, SystemClock
from glia.ids import is_valid_room_id
from glia.services.notifier import Notifier
from glia.storage import Storage

if TYPE_CHECKING:
    from glia.services.appservices.ephemeral import AppServiceEphemeral
    from glia.services.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

MAX_TIMEOUT_MS = 120_000
DEFAULT_TIMEOUT_MS = 30_000


class TypingService:
    def __init__(self, storage: Storage, notifier: Notifier, clock: Clock | None = None,
                 appservices: AppServiceEphemeral | None = None,
                 listener: Callable[[str, str, bool], Awaitable[None]] | None = None) -> None:
        """``listener(room_id, user_id, typing)`` hears each change (the federation
        sender passes our users' typing on to the room's other servers)."""
        self._listener = listener
        self._clock = clock or SystemClock()
        self._storage = storage
        self._notifier = notifier
        self._appservices = appservices

    async def _changed(self, room_id: str) -> None:
        await self._notifier.notify(rooms=[room_id])
        if self._appservices is not None:
            await self._appservices.typing(room_id)

    async def set_typing(self, uow: UnitOfWork, room_id: str, user_id: str, typing: bool,
                         timeout_ms: int | None = None) -> None:
        """Start (for ``timeout_ms``, capped) or stop the caller's typing in the room, in
        the request's transaction. A shadow-banned user's start succeeds without effect,
        before any check of the room, as in Synapse."""
        if uow.requester.user_id != user_id:
            raise errors.forbidden("Cannot set another user's typing state")
        if typing and (await self._storage.admin_users.restrictions(user_id))[1]:
            return  # shadow-banned: looks done, nobody sees it (as Synapse)
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a valid room ID")
        timeout = DEFAULT_TIMEOUT_MS if timeout_ms is None else timeout_ms
        member = await self._storage.state.membership_of(room_id, user_id)
        if member is None or member.membership != "join":
            raise errors.forbidden(f"User {user_id} not in room {room_id}")
        async with uow.transaction() as tx:
            if typing:
                expires = self._clock.now_ms() + min(timeout, MAX_TIMEOUT_MS)
                await tx.typing.start(room_id, user_id, expires,
                                      await tx.next_stream_position())
            elif not await tx.typing.stop(room_id, user_id, await tx.next_stream_position()):
                return
        await self._changed(room_id)
        if self._listener is not None:
            await self._listener(room_id, user_id, typing)

    async def set_remote(self, room_id: str, user_id: str, typing: bool) -> None:
        """Typing of another server's user (an ``m.typing`` EDU), who must be joined;
        a start lasts :data:`DEFAULT_TIMEOUT_MS` unless renewed or stopped."""
        member = await self._storage.state.membership_of(room_id, user_id)
        if member is None or member.membership != "join":
            return
        async with self._storage.transaction() as tx:
            if typing:
                await tx.typing.start(room_id, user_id,
                                      self._clock.now_ms() + DEFAULT_TIMEOUT_MS,
                                      await tx.next_stream_position())
            elif not await tx.typing.stop(room_id, user_id, await tx.next_stream_position()):
                return
        await self._changed(room_id)

    async def expire(self) -> int:
        """End every typing notification whose timeout passed; returns how many."""
        ended = 0
        for room_id, user_id in await self._storage.typing.expired(self._clock.now_ms()):
            async with self._storage.transaction() as tx:
                stopped = await tx.typing.stop(room_id, user_id,
                                               await tx.next_stream_position())
            if stopped:
                ended += 1
                await self._changed(room_id)
        return ended

    async def run_expiry(self, interval: float = 1.0) -> None:
        """Background loop (one per process; concurrent expiry is harmless)."""
        while True:
            await self._clock.sleep(interval)
            try:
                await self.expire()
            except Exception:
                logger.exception("typing expiry failed")

    async def sync_events(self, room_ids: list[str], since: int | None, upto: int
                          ) -> dict[str, dict[str, Any]]:
        """room_id → ``m.typing`` event, for rooms whose typing list changed."""
        now = self._clock.now_ms()
        out: dict[str, dict[str, Any]] = {}
        for room_id in await self._storage.typing.changed_rooms(room_ids, since, upto):
            users = await self._storage.typing.typing_in(room_id, now)
            if since is None and not users:
                continue
            out[room_id] = {"type": "m.typing", "content": {"user_ids": users}}
        return out
