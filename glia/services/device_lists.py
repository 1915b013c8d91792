"""Device-list tracking (the spec's "Tracking the device list for a user"): which users'
keys changed for whom — ``/keys/changes`` and the device part of ``/sync``
(``device_lists``, one-time key counts, to-device messages) — and the wake-ups when a
user's keys change. The key uploads themselves are ``keys.py``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from glia import errors
from glia.config import Config
from glia.ids import InvalidId, server_name_of
from glia.services.auth import Requester
from glia.services.notifier import Notifier
from glia.services.sync_response import DeviceLists, DeviceSection, Events
from glia.storage import Storage, Stores

if TYPE_CHECKING:
    from glia.services.appservices.ephemeral import AppServiceEphemeral

__all__ = ["SIGNED_CURVE25519", "DeviceListService", "parse_stream_token"]

logger = logging.getLogger(__name__)

SIGNED_CURVE25519 = "signed_curve25519"
#: The spec's recommended cap on to-device messages per ``/sync`` response.
TO_DEVICE_LIMIT = 100
_TOKEN = re.compile(r"s([0-9]{1,18})(?:_\S*)?|([0-9]{1,18})")


def parse_stream_token(token: str, name: str) -> int:
    """A sync token as a stream position: ``s<position>`` (what ``/sync`` hands out) or
    the bare decimal position."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise errors.invalid_param(f"Invalid stream token in '{name}'")
    return int(match.group(1) or match.group(2))


class DeviceListService:
    """Device lists and the per-device part of ``/sync``; the base of the key service,
    whose uploads record the changes this reports."""

    def __init__(self, config: Config, storage: Storage, notifier: Notifier,
                 appservices: AppServiceEphemeral | None = None,
                 listener: Callable[[str], Awaitable[None]] | None = None) -> None:
        """``listener`` hears of each change of one of our users' device lists after it
        committed (the federation side tells the servers sharing a room with them)."""
        self._listener = listener
        self._config = config
        self._storage = storage
        self._notifier = notifier
        self._appservices = appservices

    def is_local(self, user_id: str) -> bool:
        try:
            return server_name_of(user_id) == self._config.server_name
        except InvalidId:
            return False

    # -- /keys/changes -------------------------------------------------------------------

    async def changes(self, requester: Requester, from_token: str | None,
                      to_token: str | None) -> DeviceLists:
        if from_token is None:
            raise errors.missing_param("Missing string query parameter 'from'")
        since = parse_stream_token(from_token, "from")
        upto = (parse_stream_token(to_token, "to") if to_token is not None
                else await self._storage.stream_upto())
        return await self.device_lists(requester.user_id, since, upto)

    # -- device lists and the device part of /sync -----------------------------------------

    async def device_lists(self, user_id: str, since: int, upto: int) -> DeviceLists:
        """``changed``: users (``user_id`` or sharing a joined room with them) whose device
        lists changed in (since, upto], and users who newly share a room with them;
        ``left``: users who shared a room at ``since`` and share none any more."""
        if upto <= since:
            return DeviceLists([], [])
        store = self._storage.keys
        changed = set(await store.changed_for(user_id, since, upto))
        candidates: set[str] = set()
        rooms = await store.rooms_with_membership(user_id)
        moves = await store.membership_changes(list(rooms), since, upto)
        after: dict[tuple[str, str], str | None] = {}
        for move in moves:  # oldest first: the last one is the membership at upto
            after[(move.room_id, move.user_id)] = move.membership
        before = {pair: await store.membership_at(pair[0], pair[1], since) for pair in after}
        moved_in_room: dict[str, list[str]] = {}
        for room_id, other in after:
            moved_in_room.setdefault(room_id, []).append(other)
        for room_id in moved_in_room:
            mine = (room_id, user_id)
            current = rooms.get(room_id)
            was_in = before.get(mine, current) == "join"
            is_in = after.get(mine, current) == "join"
            if is_in and not was_in:  # we joined: everyone there is new to us
                changed.update(await store.joined_members([room_id]))
            elif was_in and not is_in:  # we left: everyone who was there may be gone
                members = await self._storage.state.members_at(room_id, since, ["join"])
                candidates.update(m.user_id for m in members)
            elif is_in:
                for other in moved_in_room[room_id]:
                    then, now = before[(room_id, other)], after[(room_id, other)]
                    if now == "join" and then != "join":
                        changed.add(other)
                    elif now != "join" and then == "join":
                        candidates.add(other)
        candidates.discard(user_id)
        left = candidates - await store.sharing_a_room(user_id, sorted(candidates))
        changed -= left
        return DeviceLists(sorted(changed), sorted(left))

    async def sync_section(self, user_id: str, device_id: str, since: int | None,
                           upto: int) -> DeviceSection:
        """The per-device part of a ``/sync`` response covering (since, upto].

        ``to_device``: the device's pending messages with position <= upto, oldest first,
        at most 100 (the rest come in later syncs); ``device_lists``: see
        :meth:`device_lists` (empty lists on an initial sync, ``since`` None);
        ``device_one_time_keys_count`` (``signed_curve25519`` always present) and
        ``device_unused_fallback_key_types``.

        When the messages were cut at 100, the position of the last one delivered is
        recorded against ``upto`` (and the stream moved on, so the next response has
        another token), so that :meth:`ack_to_device` with this ``upto`` deletes only what
        this response carried, however often the client retries with it.
        """
        pending = await self._storage.to_device.pending(user_id, device_id, upto,
                                                        TO_DEVICE_LIMIT + 1)
        if len(pending) > TO_DEVICE_LIMIT:
            pending = pending[:TO_DEVICE_LIMIT]
            async with self._storage.transaction() as tx:
                await tx.to_device.record_delivered(user_id, device_id, upto,
                                                    pending[-1].stream)
                # Move the stream on, so the next sync's token differs from this one's and
                # a retry with this token can be told from the sync after it.
                await tx.next_stream_position()
        if since is None:
            device_lists = DeviceLists([], [])
        else:
            device_lists = await self.device_lists(user_id, since, upto)
        counts = await self._storage.keys.count_one_time_keys(user_id, device_id)
        return DeviceSection(
            Events([{"sender": m.sender, "type": m.type, "content": m.content}
                    for m in pending]),
            device_lists,
            {SIGNED_CURVE25519: 0, **counts},
            await self._storage.keys.unused_fallback_key_types(user_id, device_id),
        )

    async def ack_to_device(self, user_id: str, device_id: str, upto: int) -> None:
        """The client came back with the token of a sync that covered up to ``upto``: it
        has the to-device messages that sync carried, so delete them (all messages with
        position <= upto, or fewer if that sync was cut at 100). Idempotent, so a retry
        with the same token loses nothing; call it before :meth:`sync_section` of the same
        request. Writes only when there is something to delete, so an idle long-poll does
        not take SQLite's write lock."""
        store = self._storage.to_device
        delivered = await store.delivered_upto(user_id, device_id, upto)
        stream = upto if delivered is None else delivered
        if not await store.has_acknowledgeable(user_id, device_id, stream, upto):
            return
        async with self._storage.transaction() as tx:
            await tx.to_device.acknowledge(user_id, device_id, stream, upto)

    # -- device deletion and wake-ups ----------------------------------------------------

    @staticmethod
    async def device_deleted(tx: Stores, user_id: str, device_id: str) -> None:
        """Call in the deleting transaction, before the device row goes (its keys, one-time
        keys and inbox then go with it by cascade). Records a device-list change, keys or
        not (the device list is the list of devices; Synapse reports every deletion);
        then call :meth:`notify_device_list`."""
        await tx.keys.delete_signatures_of(user_id, device_id)
        await tx.keys.mark_device_list_changed(user_id, await tx.next_stream_position())

    async def devices_removing(self, tx: Stores, user_id: str, device_ids: list[str]) -> None:
        """A :class:`~glia.services.device_removal.DeviceRemoval` step: record the
        device-list change in ``tx`` and wake the syncs that should see it after commit."""
        for device_id in device_ids:
            await self.device_deleted(tx, user_id, device_id)
        tx.after_commit(lambda: _spawn(self.notify_device_list(user_id)))

    async def device_list_changed(self, tx: Stores, user_id: str) -> None:
        """A device of ``user_id`` was added or renamed in ``tx``: a device-list change
        (``device_lists.changed`` of everyone sharing a room), woken after commit."""
        await tx.keys.mark_device_list_changed(user_id, await tx.next_stream_position())
        tx.after_commit(lambda: _spawn(self.notify_device_list(user_id)))

    async def notify_device_list(self, user_id: str) -> None:
        """Wake syncs that may see a change of ``user_id``'s keys: theirs and their rooms'."""
        rooms = [room for room, membership in
                 (await self._storage.keys.rooms_with_membership(user_id)).items()
                 if membership == "join"]
        await self._notifier.notify(users=[user_id], rooms=rooms)
        if self._appservices is not None:
            await self._appservices.device_list_changed(user_id, rooms)
        if self._listener is not None and self.is_local(user_id):
            try:
                await self._listener(user_id)
            except Exception:  # the change is stored; telling other servers is extra
                logger.exception("announcing %s's device list change failed", user_id)

# -- helpers -----------------------------------------------------------------------------


_background: set[asyncio.Task[None]] = set()


def _spawn(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a wake-up after commit without making the committing caller wait for it."""
    task = asyncio.ensure_future(coroutine)
    _background.add(task)
    task.add_done_callback(_background.discard)
